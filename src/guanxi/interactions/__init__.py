"""The touch centre (触发中心): interactions on every channel, follow-ups and reminders, e-mail in
and out, and web behaviour events."""
