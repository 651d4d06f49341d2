"""Open data: bulk exports, OCDS, Atom feeds, the DCAT catalogue, statistics,
signed ledger checkpoints and the verifier. See docs/opendata.md.

Everything here reads public columns only (the same ones as registry.public
and registry.store.challenges.PUBLIC_COLUMNS); no query in this package names
collective_contacts, collective_members, event_actors, challenge_notes or
api_tokens.
"""

LICENCE_ID = "CC0-1.0"
LICENCE_URL = "https://creativecommons.org/publicdomain/zero/1.0/"
LICENCE_TEXT = (
    "The data in this dump is dedicated to the public domain under CC0 1.0 Universal (CC0-1.0):\n"
    f"{LICENCE_URL}\n"
    "You may copy, modify and distribute it, even commercially, without asking permission.\n"
)
