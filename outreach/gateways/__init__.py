"""SMS gateways behind one small interface (base.Gateway): SMS.ru, SMSC.ru and a JSON webhook."""
from __future__ import annotations

from outreach.gateways.base import Accepted, Delivery, Gateway, Sms
from outreach.gateways.smsc import SmscGateway
from outreach.gateways.smsru import SmsRuGateway
from outreach.gateways.webhook import WebhookGateway

__all__ = ["Accepted", "Delivery", "Gateway", "SmsRuGateway", "SmscGateway", "Sms", "WebhookGateway"]
