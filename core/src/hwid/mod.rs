//! Devices (ordered hardware and compatible IDs) and the sources they are read from.
