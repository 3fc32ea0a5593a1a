"""The pure PMF domain: no I/O, no clock, no Slack or SQL; every input is passed in.

``RULES_VERSION`` names the version of the rules a report is computed by. Raise it whenever a
change in this package (or in what the reports service feeds it) can change a stored report:
weekly snapshots are caches keyed on it, so every stored week is then recomputed (SPEC §10)."""

RULES_VERSION = 5  # 2: summaries in plain words ("points a week", "after signup", "scored answers")
# 3: the gate under the default rules beside custom ones (``GateReport.default_rules``)
# 4: issue 18 organic rules (click ids, ambiguous sources, dispersion, biggest week out, quasi-Poisson)
# 5: a week's snapshot counts survey answers through its Sunday only (SPEC §10)
