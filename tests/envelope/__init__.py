"""Tests of the edXML envelope package."""
