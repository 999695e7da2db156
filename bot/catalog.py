"""Every msgid the bot's own catalog (translations/*/LC_MESSAGES/bot.po) must translate."""

from __future__ import annotations


def bot_msgids() -> list[str]:
    from bot import engine, runner, simulator
    from bot.journeys import complaint, details, eligibility, personal, start

    found = [engine.MSG_WRONG_CHOICE, "{n} More", "{back} Back {menu} Menu", "{n} Back", *runner.BOT_MSGIDS,
             *simulator.SIMULATOR_MSGIDS]
    for module in (start, complaint, eligibility, personal, details):
        found += list(module.MSGIDS)
    return sorted(set(found))


def borrowed_msgids() -> list[str]:
    """Msgids of E1's and E2's catalogs (cases.po, citizen.po) that the bot shows."""
    from portal.services import case_messages, identity
    from portal.services.entitlements import STATUS_MSGIDS
    from portal.services.grievance_catalogue import CATEGORIES

    return sorted({
        case_messages.ACKNOWLEDGED, case_messages.REFERENCE_INVALID, case_messages.REFERENCE_NOT_FOUND,
        case_messages.STATUS_LEVEL0, *case_messages.STATE_LABELS.values(),
        *case_messages.LEVEL_LABELS.values(),
        *(c.label_msgid for c in CATEGORIES.values()), *identity.IDENTITY_MSGIDS, *STATUS_MSGIDS.values(),
        case_messages.CHANGE_RECEIVED,
    })
