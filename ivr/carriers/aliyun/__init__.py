"""Alibaba Cloud 语音服务 (VMS): the carrier for residents in mainland China.

``carrier`` starts calls with the official SDK (``SmartCall``); ``callbacks`` is the blueprint
the platform posts its 智能外呼 callbacks and call receipts to; ``actions`` turns the call flow's
actions into the platform's JSON replies; ``simulator`` plays the platform locally. The contract
each relies on, with its sources, is in ``docs/carriers.md``.
"""
