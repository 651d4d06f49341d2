"""The texts of the portal's mails, in the recipient's language. Plain text:
every mail client shows it, nothing in it can run. Strings are msgids for
the catalogues (translate(locale, "...")), placeholders ``%(name)s``."""

from __future__ import annotations

from registry.web.i18n import format_date, format_datetime, translate
from registry.web.vocabulary import label

SIGNATURE = "\n\n-- \n"


def _footer(locale: str, base: str) -> str:
    return SIGNATURE + translate(locale, "Right-to-Challenge Registry") + f"\n{base}/\n" + translate(
        locale, "Your mail settings: %(url)s", url=f"{base}/account"
    )


def confirm(locale: str, link: str, base: str) -> tuple[str, str]:
    subject = translate(locale, "Confirm your e-mail address")
    text = translate(
        locale,
        "Welcome to the Right-to-Challenge Registry.\n\nConfirm your e-mail address by opening this link"
        " within 3 days:\n\n%(link)s\n\nDid you not register? Then you can ignore this mail.",
        link=link,
    )
    return subject, text + _footer(locale, base)


def already_registered(locale: str, base: str) -> tuple[str, str]:
    subject = translate(locale, "You already have an account")
    text = translate(
        locale,
        "Someone tried to register with this e-mail address, but it already has an account.\n\n"
        "Forgot your password? Choose a new one here:\n\n%(link)s",
        link=f"{base}/password/forgot",
    )
    return subject, text + _footer(locale, base)


def reset(locale: str, link: str, base: str) -> tuple[str, str]:
    subject = translate(locale, "Choose a new password")
    text = translate(
        locale,
        "You asked for a new password. Open this link within 2 hours to choose one:\n\n%(link)s\n\n"
        "Did you not ask for this? Then you can ignore this mail; your password stays the same.",
        link=link,
    )
    return subject, text + _footer(locale, base)


def invite(locale: str, link: str, collective: str, inviter: str, base: str) -> tuple[str, str]:
    subject = translate(locale, "Invitation to join %(collective)s", collective=collective)
    text = translate(
        locale,
        "%(inviter)s invites you to join the collective %(collective)s in the Right-to-Challenge Registry.\n\n"
        "Accept the invitation within 14 days:\n\n%(link)s",
        inviter=inviter or translate(locale, "A member"),
        collective=collective,
        link=link,
    )
    return subject, text + _footer(locale, base)


def step(locale: str, row, event, *, member: bool, base: str) -> tuple[str, str]:
    ref, title = row["ref"], row["title"]
    what = label("action", event.action, locale)
    subject = f"[{ref}] {what}: {title}"
    lines = [
        translate(locale, "A new step in the challenge %(ref)s, \u201c%(title)s\u201d:", ref=ref, title=title),
        "",
        f"  {what} \u2014 {format_datetime(event.occurred_at, locale)}",
        "  " + translate(locale, "State: %(state)s", state=label("state", event.to_state, locale)),
    ]
    if event.waiting_on and event.due_at:
        lines.append(
            "  "
            + translate(
                locale,
                "Waiting on %(who)s until %(due)s",
                who=label("waiting_on", event.waiting_on, locale),
                due=format_date(event.due_at, locale),
            )
        )
    for key, value in event.data.items():
        if isinstance(value, str) and key in ("questions", "modification", "reasons", "report", "evaluation", "conditions"):
            lines += ["", label("event_text", key, locale) + ":", value]
    lines += ["", translate(locale, "The public page: %(url)s", url=f"{base}/challenges/{ref}")]
    if member:
        lines.append(translate(locale, "What your collective can do now: %(url)s", url=f"{base}/my/challenges"))
    return subject, "\n".join(lines) + _footer(locale, base)


def digest(locale: str, items: list, base: str) -> tuple[str, str]:
    subject = translate(locale, "Your daily digest: %(n)s new steps", n=len(items))
    lines = [translate(locale, "New steps in the challenges you follow:"), ""]
    for it in items:
        lines.append(
            f"- [{it['ref']}] {label('action', it['action'], locale)} ({format_date(it['occurred_at'], locale)}):"
            f" {it['title']}\n  {base}/challenges/{it['ref']}"
        )
    return subject, "\n".join(lines) + _footer(locale, base)
