"""The README's "Try it in Slack" path, as ``bench/try_in_slack.py`` walks it: ``pmfbot demo``,
then ``pmfbot web`` and ``pmfbot socket`` on the demo database against the fake Slack Web API
and the fake Socket Mode endpoint, through the README's steps. It broke once without a test
noticing (a second demo product made the plain ``/pmf-check`` ask which product)."""

from __future__ import annotations

import pytest

from bench.try_in_slack import main


@pytest.mark.slow
def test_the_readme_path_works_over_http_and_socket_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    for transport in ("=== pmfbot web (HTTP)", "=== pmfbot socket (Socket Mode)"):
        walked = out.split(transport, 1)[1].split("===", 1)[0]
        assert "several products (`acme`, `beacon`)" in walked  # step 4: plain /pmf-check asks which
        assert "is now about *Acme*" in walked
        assert "PMF Gate — Acme, as of" in walked and "Not sure yet, so not yet" in walked
        assert "chart PNGs in your DM: 1" in walked
        assert "Posted the report for *Acme*" in walked and "Posted the PMF digest of Acme" in walked
        assert "App Home (event acked" in walked and "*Acme* `acme`" in walked
        assert "logged 0 warning/error line(s)" in walked
    assert "every message and view is within Block Kit's limits" in out
