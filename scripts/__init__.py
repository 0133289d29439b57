"""Development tooling: the dev stack (scripts/devstack), demo, bench and replay."""
