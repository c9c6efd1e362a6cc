"""The optional Snipe-IT adapter (on when MAKERBUS_SNIPEIT_URL is set): rental items mirrored
from Snipe-IT's hardware list, station checkouts and check-ins reported back to it."""
