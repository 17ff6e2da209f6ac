"""The national SDK's wire protocol under ``/vxp``: transport authentication, SDK lists, answers."""
