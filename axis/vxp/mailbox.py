"""What the national SDK's calls read and change: received and sent lists, counts, hub-level status.

The same deliveries and messages as /api/v1 (a document sent through one is read through the
other); only the shapes differ. ``updateStatus`` is the DMS's hub-level acknowledgement:
``done`` takes an item off its received list (a status item is then delivered, as an ack on
/api/v1); a document is delivered only by the recipient's signed status 01, as everywhere.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, Select, String, bindparam, func, or_, select, update
from sqlalchemy.orm import aliased

from axis.context import AxisContext
from axis.exchange import mailbox
from axis.exchange.errors import InvalidRequest, NotFound
from envelope.codes import STATUS_LABELS, VN_TZ, StatusCode
from storage.audit import queue_event
from storage.db import reading
from storage.ids import is_id
from storage.models import Agency, Delivery, DeliveryMode, DeliveryState, Message, MessageKind
from storage.registry.cache import RegisteredAgency

#: The values ``updateStatus`` takes.
SDK_STATUSES = ("processing", "done", "fail")
#: Items one list call returns at most (the DMS calls again after taking them).
MAX_ITEMS = 500

_STATE_WORDS = {
    DeliveryState.QUEUED.value: ("initial", "Chờ nhận"),
    DeliveryState.RETRIEVED.value: ("processing", "Đã tải về, chờ xác nhận"),
    DeliveryState.PUSHING.value: ("processing", "Đang chuyển"),
    DeliveryState.RETRY_WAIT.value: ("processing", "Đang chờ chuyển lại"),
    DeliveryState.DELIVERED.value: ("done", "Đã nhận"),
    DeliveryState.FAILED.value: ("fail", "Chuyển không thành công"),
}

_sender = aliased(Agency, name="sender")
_recipient = aliased(Agency, name="recipient")


def sdk_time(moment: datetime | None) -> str:
    """A time as the SDK's lists show it: Vietnam time, ``yyyy-MM-dd HH:mm:ss``."""
    return "" if moment is None else moment.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M:%S")


def message_kind(messagetype: str) -> str:
    """The message kind an SDK ``messagetype`` names (``edoc`` when absent)."""
    value = messagetype.strip().lower() or MessageKind.EDOC.value
    if value not in (MessageKind.EDOC.value, MessageKind.STATUS.value):
        raise InvalidRequest("messagetype must be edoc or status", field="messagetype")
    return value


@cache
def _waiting(counting: bool) -> Select[Any]:
    """The caller's waiting items of one kind, not yet marked done (built once each)."""
    conditions = (
        Delivery.recipient_id == bindparam("caller", type_=Integer),
        Delivery.mode == DeliveryMode.PULL.value,
        Delivery.state.in_(mailbox.WAITING),
        Message.kind == bindparam("kind", type_=String),
        or_(Delivery.sdk_status.is_(None), Delivery.sdk_status != "done"),
    )
    if counting:
        return select(func.count()).select_from(Delivery).join(Message, Message.id == Delivery.message_id) \
            .where(*conditions)
    return (
        select(Delivery.message_id, Message.kind, Message.received_at, Delivery.retrieved_at, Delivery.state,
               Delivery.sdk_status, _sender.code.label("sender_code"), Message.document_id, Message.subject,
               Message.status_code)
        .join(Message, Message.id == Delivery.message_id)
        .join(_sender, _sender.id == Message.sender_id)
        .where(*conditions)
        .order_by(Delivery.message_id)
        .limit(MAX_ITEMS)
    )


async def received_list(ctx: AxisContext, caller: RegisteredAgency, kind: str) -> list[dict[str, Any]]:
    """Items waiting for ``caller`` (documents or statuses), oldest first, in the SDK's shape."""
    async with reading(ctx.engine) as conn:
        rows = (await conn.execute(_waiting(False), {"caller": caller.id, "kind": kind})).all()
    items = []
    for r in rows:
        status, desc = _STATE_WORDS.get(r.state, (r.state, r.state))
        if r.sdk_status:
            status = r.sdk_status
        item: dict[str, Any] = {
            "docId": r.message_id, "serviceType": "eDoc", "messageType": r.kind,
            "created_time": sdk_time(r.received_at), "updated_time": sdk_time(r.retrieved_at or r.received_at),
            "from": r.sender_code, "to": caller.code, "status": status, "status_desc": desc,
            "documentId": r.document_id, "title": r.subject,
        }
        if r.status_code:
            item["statusCode"] = r.status_code
            item["status_desc"] = STATUS_LABELS[StatusCode(r.status_code)][0]
        items.append(item)
    return items


async def count_received(ctx: AxisContext, caller: RegisteredAgency, kind: str) -> int:
    """How many items ``received_list`` would show (all of them, not capped)."""
    async with reading(ctx.engine) as conn:
        return int((await conn.execute(_waiting(True), {"caller": caller.id, "kind": kind})).scalar_one())


_OWN_DELIVERY = (
    select(Delivery.id, Delivery.state, Message.kind)
    .join(Message, Message.id == Delivery.message_id)
    .where(Delivery.message_id == bindparam("message", type_=String),
           Delivery.recipient_id == bindparam("caller", type_=Integer))
)
_SET_SDK_STATUS = (
    update(Delivery.__table__)
    .where(Delivery.id == bindparam("delivery", type_=Integer))
    .values(sdk_status=bindparam("status", type_=String))
)


async def update_status(ctx: AxisContext, caller: RegisteredAgency, message_id: str, status: str) -> str:
    """Record the DMS's hub-level status of an item it received; return the delivery state after it."""
    status = status.strip().lower()
    if status not in SDK_STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(SDK_STATUSES)}", field="status")
    missing = NotFound(f"no message {message_id[:40]} in the inbox of {caller.code}", field="docid")
    if not is_id(message_id):
        raise missing
    async with reading(ctx.engine) as conn:
        row = (await conn.execute(_OWN_DELIVERY, {"message": message_id, "caller": caller.id})).first()
    if row is None:
        raise missing
    if row.kind == MessageKind.STATUS.value and status == "done":
        return str((await mailbox.ack(ctx, caller, message_id))["state"])
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        await session.execute(_SET_SDK_STATUS, {"delivery": row.id, "status": status})
        await queue_event(session, actor=caller.code, action="delivery.sdk_status", subject=message_id,
                          details={"delivery": row.id, "status": status}, at=now)
    return str(row.state)


@cache
def _sent(by_id: bool) -> Select[Any]:
    query = (
        select(Message.id, Message.kind, Message.subject, Message.code_number, Message.code_notation,
               Message.received_at, Message.document_id, _recipient.code.label("to_code"), Delivery.state,
               Delivery.delivered_at, Delivery.sdk_status)
        .join(Delivery, Delivery.message_id == Message.id)
        .join(_recipient, _recipient.id == Delivery.recipient_id)
        .where(Message.sender_id == bindparam("caller", type_=Integer), Message.kind == MessageKind.EDOC.value)
    )
    if by_id:
        return query.where(Message.id == bindparam("message", type_=String)).order_by(Delivery.id)
    # Newest documents first (ix_messages_sender_received), a bounded number of rows.
    return query.order_by(Message.received_at.desc(), Message.id.desc(), Delivery.id).limit(MAX_ITEMS)


async def sent_list(ctx: AxisContext, caller: RegisteredAgency, message_id: str = "") -> list[dict[str, Any]]:
    """The caller's sent documents (or one of them) with each recipient's state, in the SDK's shape."""
    params: dict[str, Any] = {"caller": caller.id}
    if message_id:
        if not is_id(message_id):
            raise NotFound(f"no document {message_id[:40]} sent by {caller.code}", field="docId")
        params["message"] = message_id
    async with reading(ctx.engine) as conn:
        rows = (await conn.execute(_sent(bool(message_id)), params)).all()
    if message_id and not rows:
        raise NotFound(f"no document {message_id} sent by {caller.code}", field="docId")
    out = []
    for r in rows:
        status, desc = _STATE_WORDS.get(r.state, (r.state, r.state))
        out.append({
            "serviceType": "eDoc", "messageType": r.kind, "senderDocId": r.id, "receiverDocId": r.id,
            "fromCode": caller.code, "toCode": r.to_code, "title": r.subject,
            "notation": f"{r.code_number}/{r.code_notation}", "documentId": r.document_id,
            "sentTime": sdk_time(r.received_at), "receivedTime": sdk_time(r.delivered_at),
            "sendStatus": "done", "sendStatusDesc": "Đã gửi lên trục",
            "receiveStatus": status, "receiveStatusDesc": desc,
        })
    return out
