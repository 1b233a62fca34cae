"""SMS gateways behind one small interface (base.Gateway): SMS.ru, SMSC.ru and a JSON webhook."""
from __future__ import annotations

from outreach.gateways.base import Accepted, Delivery, Gateway, Sms
from outreach.gateways.smsc import SmscGateway
from outreach.gateways.smsru import SmsRuGateway
from outreach.gateways.webhook import WebhookGateway
from outreach.settings import GatewaySettings

__all__ = ["Accepted", "Delivery", "Gateway", "SmsRuGateway", "SmscGateway", "Sms", "WebhookGateway", "build_gateway"]


def build_gateway(settings: GatewaySettings) -> Gateway:
    """The gateway a ``sms_gateways`` entry of app.yaml describes."""
    s, secrets = settings, settings.secrets
    if s.kind == "smsru":
        return SmsRuGateway(s.name, s.url, secrets["api_id"], s.sender, s.timeout_s)
    if s.kind == "smsc":
        return SmscGateway(s.name, s.url, secrets["login"], secrets["password"], s.sender, s.timeout_s)
    return WebhookGateway(s.name, s.url, secrets["token"], s.timeout_s)
