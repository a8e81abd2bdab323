"""Alert messages: upstream text can neither ping a channel nor carry a secret."""

from include.connections import secrets
from include.quality.alerts import failed_checks_message, task_failure_message

CONTROL = "<!channel> <!here> <!everyone> <@U024BE7LH> <!subteam^S1> <http://x|y>"


def _assert_plain(text):
    for sequence in ("<!channel>", "<!here>", "<!everyone>", "<@U024BE7LH>", "<!subteam", "<http"):
        assert sequence not in text, text


def test_a_task_failure_message_neutralizes_control_sequences_and_secrets():
    secrets.register("msg-secret-12345")
    text = task_failure_message(
        "dag", "task", "manual__<!here>", "2024-01-01", f"boom {CONTROL} key=msg-secret-12345"
    )["text"]
    _assert_plain(text)
    assert "msg-secret-12345" not in text
    assert "&lt;!channel&gt;" in text  # shown as typed, not acted on


def test_a_failed_checks_message_neutralizes_upstream_values():
    text = failed_checks_message(
        "dag",
        "run",
        "2024-01-01",
        [
            {
                "check_name": "state_code_unique",
                "target": "raw.states_page",
                "dimension": "uniqueness",
                "status": "fail",
                "observed": CONTROL,
                "expected": "<!channel>",
            }
        ],
    )["text"]
    _assert_plain(text)
    assert "state_code_unique" in text
