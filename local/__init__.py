"""The local default stack: services that stand in for the cloud on a laptop or in CI."""
