"""Telegram-only texts (translations/*/LC_MESSAGES/telegram.po)."""

from __future__ import annotations

MSG_BACK = "Back"
MSG_MENU = "Main menu"
MSG_SHARE_BUTTON = "Share my phone number"
MSG_NOT_OWN_CONTACT = "Please share your own phone number with the button."
MSG_TYPE_CODE = "Type the 6-digit code from the SMS."
MSG_BAD_ID = "Type the 9 digits of your ID card, or press the button."
MSG_OLD_BUTTON = "That button is old. Here is where you are now."
MSG_CLARIFY = "Did you mean:"
MSG_NONE_OF_THESE = "None of these"
MSG_NOT_UNDERSTOOD = "Sorry, I did not understand. Choose from the menu."
MSG_PHOTO_KEPT = "Photo received. It will be added when you finish."
MSG_PHOTO_ADDED = "Photo added to your request."
MSG_PHOTO_WHERE = "To send a photo, first choose Make a complaint or Update my details."
MSG_PHOTO_TOO_BIG = "This photo is too big. Send a smaller photo."
MSG_PHOTO_TYPE = "Please send a photo (JPEG or PNG)."
MSG_ERROR = "Sorry, something went wrong. Please try again."
MSG_CHOOSE = "Choose:"
MSG_HELP = "Press the buttons, or write what you need. /menu main menu, /language language, /help help."

TELEGRAM_MSGIDS = (MSG_BACK, MSG_MENU, MSG_SHARE_BUTTON, MSG_NOT_OWN_CONTACT, MSG_TYPE_CODE, MSG_BAD_ID,
                   MSG_OLD_BUTTON, MSG_CLARIFY, MSG_NONE_OF_THESE, MSG_NOT_UNDERSTOOD, MSG_PHOTO_KEPT,
                   MSG_PHOTO_ADDED, MSG_PHOTO_WHERE, MSG_PHOTO_TOO_BIG, MSG_PHOTO_TYPE, MSG_ERROR, MSG_HELP,
                   MSG_CHOOSE)
