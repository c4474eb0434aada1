"""mupvpp: SRv6 Mobile User Plane (RFC 9433) for FD.io VPP."""

__version__ = "0.1.0"
