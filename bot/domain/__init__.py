"""The pure PMF domain: no I/O, no clock, no Slack or SQL; every input is passed in."""
