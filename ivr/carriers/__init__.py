"""Carriers behind one seam (``telephony``): Twilio's REST API, Alibaba Cloud VMS and SMS, the
Telegram bot, and the simulators that play them locally.
"""
