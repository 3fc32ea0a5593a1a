from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import unit_of_work
from storage.models import SlackEventReceipt
from storage.receipts import claim_event


def test_an_event_is_claimed_once_per_team(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as s:
        assert claim_event(s, "T1", "Ev1") is True
    with unit_of_work(session_factory) as s:
        assert claim_event(s, "T1", "Ev1") is False
        assert claim_event(s, "T2", "Ev1") is True


def test_a_rolled_back_claim_can_be_claimed_again(session_factory: sessionmaker[Session]) -> None:
    try:
        with unit_of_work(session_factory) as s:
            assert claim_event(s, "T1", "Ev9")
            raise RuntimeError("the effect failed")
    except RuntimeError:
        pass
    with unit_of_work(session_factory) as s:
        assert claim_event(s, "T1", "Ev9") is True
        assert s.scalar(select(func.count()).select_from(SlackEventReceipt)) == 1
