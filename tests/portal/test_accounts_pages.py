"""Accounts in the browser, over HTTP: register, confirm by the mailed link,
log in and out, reset a password; errors next to the field, nothing typed lost."""

from __future__ import annotations

from .conftest import PASSWORD, address, form_post, last_mail, link_in, sign_up


async def test_register_confirm_login_logout(client, db):
    email = address()
    r = await form_post(client, "/register", {"display_name": "Anna", "email": email, "password": PASSWORD,
                                              "password_again": PASSWORD})
    assert r.status_code == 200 and email in r.text
    mail = await last_mail(db, email)
    assert mail["locale"] == "nl" and "/confirm?token=" in mail["body_text"]
    r = await client.get("/account")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = await client.get(link_in(mail["body_text"]))
    assert r.status_code == 200
    r = await client.get(link_in(mail["body_text"]))
    assert r.status_code == 400  # single use
    r = await form_post(client, "/login", {"email": email, "password": PASSWORD, "next": "/account"})
    assert r.status_code == 303 and r.headers["location"] == "/account"
    cookie = r.headers["set-cookie"]
    assert "rtc_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    r = await client.get("/account")
    assert r.status_code == 200 and email in r.text
    r = await form_post(client, "/account", {}, post_url="/logout")
    assert r.status_code == 303
    assert (await client.get("/account")).status_code == 303


async def test_english_mail_for_english_browser(new_client, db):
    c = new_client("en")
    email = address()
    await form_post(c, "/register", {"email": email, "password": PASSWORD, "password_again": PASSWORD})
    mail = await last_mail(db, email)
    assert mail["locale"] == "en" and mail["subject"] == "Confirm your e-mail address"


async def test_errors_next_to_the_field_and_input_kept(client):
    r = await form_post(client, "/register", {"display_name": "Bob <b>", "email": "not-an-address",
                                              "password": PASSWORD, "password_again": PASSWORD})
    assert r.status_code == 422
    assert 'id="f-email-error"' in r.text and 'aria-describedby="f-email-error"' in r.text
    assert 'value="not-an-address"' in r.text and 'value="Bob &lt;b&gt;"' in r.text
    r = await form_post(client, "/register", {"email": address(), "password": "short", "password_again": "short"})
    assert r.status_code == 422 and 'id="f-password-error"' in r.text
    r = await form_post(client, "/register", {"email": address(), "password": PASSWORD, "password_again": "other one!"})
    assert r.status_code == 422 and 'id="f-password_again-error"' in r.text


async def test_taken_address_answers_the_same_and_mails_the_owner(client, new_client, db):
    email = await sign_up(client, db)
    other = new_client()
    r = await form_post(other, "/register", {"email": email, "password": PASSWORD, "password_again": PASSWORD})
    assert r.status_code == 200
    mail = await last_mail(db, email)
    assert "/password/forgot" in mail["body_text"]


async def test_wrong_password_and_csrf(client, db):
    email = await sign_up(client, db)
    r = await form_post(client, "/login", {"email": email, "password": "wrong password!"})
    assert r.status_code == 422 and f'value="{email}"' in r.text
    r = await client.post("/login", data={"email": email, "password": PASSWORD})
    assert r.status_code == 403  # no CSRF token


async def test_password_reset(client, new_client, db):
    email = await sign_up(client, db)
    other = new_client()
    r = await form_post(other, "/password/forgot", {"email": email})
    assert r.status_code == 200
    link = link_in((await last_mail(db, email))["body_text"])
    assert link.startswith("/password/reset?token=")
    token = link.split("=", 1)[1]
    r = await form_post(other, link, {"token": token, "password": "x", "password_again": "x"}, post_url="/password/reset")
    assert r.status_code == 422 and 'id="f-password-error"' in r.text
    new = "a brand new passphrase"
    r = await form_post(other, link, {"token": token, "password": new, "password_again": new}, post_url="/password/reset")
    assert r.status_code == 200
    # Every session ended, the old password is gone.
    assert (await client.get("/account")).status_code == 303
    r = await form_post(other, "/login", {"email": email, "password": new})
    assert r.status_code == 303
    # Unknown addresses answer the same.
    r = await form_post(other, "/password/forgot", {"email": address()})
    assert r.status_code == 200


async def test_unconfirmed_users_cannot_create_collectives(client, db):
    await sign_up(client, db, confirm=False)
    r = await client.get("/collectives/new")
    assert r.status_code == 303 and r.headers["location"] == "/account?confirm=1"
    r = await form_post(client, "/account", {}, post_url="/account/confirm-again")
    assert r.status_code == 200
