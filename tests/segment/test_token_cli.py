"""`pmfbot token create [--product SLUG]`: a write key scoped to one product, or the workspace."""

from __future__ import annotations

from click.testing import CliRunner
from segment_helpers import Factory
from sqlalchemy import select

from bot.cli import main
from bot.products import service as product_service
from bot.products.tokens import token_scope
from storage.models import IngestToken, Product


def test_token_create_scopes_to_a_product_or_the_workspace(db_url: str, session_factory: Factory) -> None:
    product_service.create_product(session_factory, slug="acme")
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}
    scoped = runner.invoke(main, ["token", "create", "--product", "acme"], env=env, catch_exceptions=False)
    assert scoped.exit_code == 0 and "scoped to product acme" in scoped.stderr
    wide = runner.invoke(main, ["token", "create"], env=env, catch_exceptions=False)
    assert wide.exit_code == 0 and "scoped to workspace local" in wide.stderr
    with session_factory() as s:
        acme = s.scalars(select(Product.id)).one()
        assert sorted(t.product_id or 0 for t in s.scalars(select(IngestToken))) == [0, acme]
    assert token_scope(session_factory, scoped.stdout.strip())[1] == acme  # type: ignore[index]
    assert token_scope(session_factory, wide.stdout.strip())[1] is None  # type: ignore[index]
    missing = runner.invoke(main, ["token", "create", "--product", "nope"], env=env, catch_exceptions=False)
    assert missing.exit_code == 2 and "No product 'nope'" in missing.stderr
