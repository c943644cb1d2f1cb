"""Custom Rasa input channels: Telegram and WhatsApp (via Twilio), with photos.

They run inside the Rasa process (`.venv-rasa`, Python 3.10) and are named in
`bot/credentials.yml` by module path (`bot.channels.telegram.TelegramInput`,
`bot.channels.twilio_whatsapp.TwilioWhatsAppInput`). See docs/channels.md.

`_common` is standard library only (no Rasa import), so its pure helpers are also
importable from the Python 3.11 test environment.
"""
