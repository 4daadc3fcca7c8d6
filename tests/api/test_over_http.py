"""The API through a real server and a real HTTP client, as a script would use it (curl in the README)."""

import requests

from tests.support.history import seed_history


def test_a_script_reads_its_accounts_over_http_with_a_token_and_nothing_else(
    live_server, viewer, account, make_token
):
    seed_history(account, balance="42.10")
    secret = make_token(viewer)
    url = f"{live_server.url}/api/v1/accounts"
    answer = requests.get(url, headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    assert answer.status_code == 200
    assert answer.json()[0]["balance"] == {"amount": "42.10", "currency": "USD"}
    assert requests.get(url, timeout=10).status_code == 401
    refused = requests.delete(url, headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    assert refused.status_code == 405
    assert "set-cookie" not in {name.lower() for name in answer.headers}  # no session for the API
