"""The national SDK client the tests drive ``/vxp`` with (it lives in ``axis.agency.sdk``)."""

from axis.agency.sdk import (
    SdkClient,
    SdkReply,
    java_hashmap_order,
    java_string_hash,
    sdk_session,
    sdk_timestamp,
    unpadded_sha256_hex,
)

__all__ = ["SdkClient", "SdkReply", "java_hashmap_order", "java_string_hash", "sdk_session", "sdk_timestamp",
           "unpadded_sha256_hex"]


#: What SDKVXP 2.0.1 (KnobstickServiceImp) reads with ``JsonObject.get(name).getAs*()`` from every answer
#: of each method, with no null check: a missing one is a NullPointerException in the DMS.
SDK_READS: dict[str, tuple[str, ...]] = {
    "sendEdoc": ("status", "ErrorCode", "ErrorDesc", "DocId"),
    "getEdoc": ("status", "ErrorCode", "ErrorDesc"),
    "getReceivedEdocList": ("status", "ErrorCode", "ErrorDesc"),
    "getSentEdocList": ("status", "ErrorCode", "ErrorDesc"),
    "countReceiveEdoc": ("status", "ErrorCode", "ErrorDesc", "count"),
    "countReceiveStatus": ("status", "ErrorCode", "ErrorDesc", "count"),
    "updateStatus": ("status", "ErrorCode", "ErrorDesc"),
}
#: Read only when ErrorCode is "0".
SDK_READS_WHEN_OK: dict[str, tuple[str, ...]] = {
    "getEdoc": ("data",), "getReceivedEdocList": ("data",), "getSentEdocList": ("data",),
}


def read_as_sdk(operation: str, reply: SdkReply) -> dict[str, str]:
    """The answer read as the SDK reads it: a field it reads unconditionally and finds missing or null raises."""
    body = reply.json()
    seen: dict[str, str] = {}
    names = SDK_READS[operation] + (SDK_READS_WHEN_OK.get(operation, ()) if body.get("ErrorCode") == "0" else ())
    for name in names:
        value = body.get(name)
        if value is None or isinstance(value, dict):
            raise AssertionError(f"NullPointerException: the SDK reads {name} from {operation}'s answer {body}")
        seen[name] = value if isinstance(value, str | list) else str(value)
    return seen
