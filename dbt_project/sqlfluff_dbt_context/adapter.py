"""`adapter`: dispatch() renders a call of the dispatched macro's name (e.g. utc_date(x)),
a plain function call to the linter."""


def dispatch(macro_name, macro_namespace=None):
    def call(*args, **kwargs):
        return f"{macro_name}({', '.join(str(a) for a in args)})"

    return call
