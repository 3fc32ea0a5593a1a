"""One name per chart: the same words in the image's title, its file's title in Slack and the
link to it (no matplotlib here, so handlers can name a chart without loading it)."""

SIGNALS_CHART = "PMF signals"  # the /pmf-check chart (the digest's four panels, as of today)
DIGEST_CHART = "weekly PMF digest"
TRAJECTORY_CHART = "PMF trajectory"
