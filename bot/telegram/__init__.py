"""The Telegram channel (SPEC §10) on python-telegram-bot 22.

- `web.py`: `POST /channels/telegram` checks the secret header, stores the update (deduplicated by
  `update_id`) and answers 200; nothing else happens in the web process.
- `updates.py`: storing, claiming and processing stored updates (the worker job in `jobs.py`, and
  `chumnuoy telegram` long polling in `cli.py`, use the same code).
- `conversation.py`: one update through the existing engine (same journeys as USSD/SMS) plus the
  Telegram-only steps (share-contact, one-time code, clarifying question, photos as evidence).
- `render.py`: prompts as messages with inline keyboards (short callback ids) or the contact keyboard.
- `evidence.py`: photo checks, metadata stripping, storage with the grievance / change request.
- `sender.py`: the outbox sender (officer replies, status changes, reminders).
- `api.py`: the Bot object (TELEGRAM_API_BASE_URL) and a private event loop for sync callers.
"""
