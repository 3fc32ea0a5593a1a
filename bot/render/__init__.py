"""Pure presentation of domain values: Block Kit dicts and PNG charts."""
