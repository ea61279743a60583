"""The domain: residents, rounds, check-ins, escalations, alerts, orders — what Pingan does,
whichever carrier or screen is involved.
"""
