"""Telegram: the check-in by chat for residents and families, and alerts staff act on.

``client`` calls the Bot API; ``webhook`` takes the updates Telegram pushes; ``chat`` renders a
flow's turn as a message with buttons; ``conversation`` runs a check-in as a chat; ``linking``
ties chats to residents and staff; ``notifier`` and ``staff`` carry escalations; ``double`` is a
local Bot API for tests and the demo. The rest of Pingan meets it only through
``ivr.domain.channels``.
"""
