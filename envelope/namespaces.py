"""XML namespaces used by edXML (QCVN 102:2016) and XML-DSig."""

from typing import Final

EDXML_NS: Final = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DS_NS: Final = "http://www.w3.org/2000/09/xmldsig#"

#: Prefix map for XPath queries over edXML trees.
NSMAP: Final[dict[str, str]] = {"edXML": EDXML_NS, "ds": DS_NS}


def q(local: str) -> str:
    """Return the Clark name ``{NS}local`` of an edXML element."""
    return f"{{{EDXML_NS}}}{local}"
