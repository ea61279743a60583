"""The web side: the carriers' webhooks, the text-message webhook, the staff dashboard, and the
server that serves them.
"""
