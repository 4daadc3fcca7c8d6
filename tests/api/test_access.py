"""Who the API lets in and what it refuses: another person's account (404), every write (405), a revoked,
expired or garbage token and a cookie without a token (401), access removed after the token was made."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from billing.api import tokens
from billing.models import AccountAccess, ApiToken
from tests.support.api_fixtures import API_PATHS, TOP_PATHS, bearer, fill, seed_period
from tests.support.history import seed_history
from tests.support.people_fixtures import login

WRITE_METHODS = ("post", "put", "patch", "delete")


def _paths(account) -> list[str]:
    return [*TOP_PATHS, *(fill(path, account) for path in API_PATHS)]


def test_every_path_answers_the_tokens_own_account(client, viewer, account, make_token):
    seed_history(account)
    seed_period(account)
    secret = make_token(viewer)
    for path in _paths(account):
        response = client.get(path, **bearer(secret))
        assert response.status_code == 200, (path, response.content)
        assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("path", API_PATHS)
def test_another_persons_account_answers_404(client, viewer, outsider, other_account, make_token, path):
    seed_history(other_account)  # (with an upcoming invoice: every path has something to refuse)
    seed_period(other_account)
    response = client.get(fill(path, other_account), **bearer(make_token(viewer)))
    assert response.status_code == 404
    assert other_account.name not in response.content.decode()


def test_a_missing_account_answers_404_too(client, viewer, make_token):
    response = client.get(API_PATHS[0].format(account_id="f" * 32), **bearer(make_token(viewer)))
    assert response.status_code == 404


@pytest.mark.parametrize("method", WRITE_METHODS)
def test_every_write_method_answers_405_on_every_path(client, viewer, account, make_token, method):
    secret = make_token(viewer)
    for path in _paths(account):
        response = getattr(client, method)(path, data="{}", content_type="application/json", **bearer(secret))
        assert response.status_code == 405, (method, path)
        assert "GET" in response["Allow"]


@pytest.mark.parametrize(
    "header",
    ["Bearer agbp_not-a-real-token", "Bearer garbage", "Bearer ", "Basic dmVyYTpwYXNz", "agbp_x", "Bearer é"],
)
def test_a_garbage_token_answers_401(client, viewer, account, header):
    response = client.get("/api/v1/accounts", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_session_without_a_token_answers_401(client, viewer, account):
    login(client, viewer)
    assert client.get("/").status_code == 200  # the session works for pages
    for path in _paths(account):
        assert client.get(path).status_code == 401, path


def test_a_revoked_token_answers_401_at_once(client, viewer, account, make_token):
    secret = make_token(viewer)
    assert client.get("/api/v1/accounts", **bearer(secret)).status_code == 200
    token = ApiToken.objects.get(digest=tokens.digest_of(secret))
    assert tokens.revoke(token, actor=viewer)
    assert client.get("/api/v1/accounts", **bearer(secret)).status_code == 401
    assert not tokens.revoke(token, actor=viewer)  # once only


def test_an_expired_token_answers_401(client, viewer, account, make_token):
    secret = make_token(viewer, days=1)
    assert client.get("/api/v1/accounts", **bearer(secret)).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        assert client.get("/api/v1/accounts", **bearer(secret)).status_code == 401


def test_a_deactivated_person_s_token_answers_401(client, viewer, account, make_token):
    secret = make_token(viewer)
    viewer.is_active = False
    viewer.save()
    assert client.get("/api/v1/accounts", **bearer(secret)).status_code == 401


def test_removing_access_stops_the_token_reading_that_account_at_once(client, viewer, account, make_token):
    secret = make_token(viewer)
    path = API_PATHS[0].format(account_id=account.cloudflare_id)
    assert client.get(path, **bearer(secret)).status_code == 200
    AccountAccess.objects.filter(user=viewer, account=account).delete()
    assert client.get(path, **bearer(secret)).status_code == 404
    assert client.get("/api/v1/accounts", **bearer(secret)).json() == []


def test_a_token_limited_to_fewer_accounts_reads_only_those(
    client, make_user, account, other_account, make_token
):
    from tests.support.people_fixtures import grant

    person = grant(grant(make_user("fin"), account, "viewer"), other_account, "viewer")
    secret = make_token(person, accounts=[other_account])
    listed = client.get("/api/v1/accounts", **bearer(secret)).json()
    assert [row["id"] for row in listed] == [other_account.cloudflare_id]
    mine = API_PATHS[0].format(account_id=account.cloudflare_id)
    assert client.get(mine, **bearer(secret)).status_code == 404


def test_a_token_is_never_made_for_accounts_its_person_cannot_see(viewer, account, other_account):
    with pytest.raises(ValueError, match="None of the chosen accounts"):
        tokens.create(user=viewer, name="sneaky", days=5, accounts=[other_account])
    assert not ApiToken.objects.exists()  # and never widened to "all the person's accounts"
    token, _ = tokens.create(user=viewer, name="mixed", days=5, accounts=[account, other_account])
    assert list(token.accounts.all()) == [account]


def test_a_superuser_token_reads_every_account(client, superuser, account, other_account, make_token):
    listed = client.get("/api/v1/accounts", **bearer(make_token(superuser))).json()
    assert {row["id"] for row in listed} == {account.cloudflare_id, other_account.cloudflare_id}
    assert {row["role"] for row in listed} == {"admin"}
