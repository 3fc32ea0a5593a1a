"""One name per chart: the same words in the image's title, its file's title in Slack and the
link to it (no matplotlib here, so handlers can name a chart without loading it). Every chart's
name is written here and nowhere else (tests/render/test_chart_names_home.py)."""

SIGNALS_CHART = "PMF signals"  # the /pmf-check chart (the digest's four panels, as of today)
DIGEST_CHART = "weekly PMF digest"
TRAJECTORY_CHART = "PMF trajectory"
RETENTION_CHART = "weekly retention"
HEATMAP_CHART = "retention by cohort"
ORGANIC_CHART = "organic growth"
SURVEY_CHART = "Sean Ellis survey"  # also the survey panel's title in the digest
