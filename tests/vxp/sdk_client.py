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
