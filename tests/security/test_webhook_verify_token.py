def test_a_non_ascii_verify_token_is_refused_not_a_server_error(client, db):
    response = client.get(
        "/webhooks/meta/", {"hub.mode": "subscribe", "hub.verify_token": "tökén-ü", "hub.challenge": "1"}
    )

    assert response.status_code == 403


def test_the_right_verify_token_still_answers_the_challenge(client, db):
    response = client.get(
        "/webhooks/meta/",
        {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1158201444"},
    )

    assert response.status_code == 200
    assert response.content == b"1158201444"
