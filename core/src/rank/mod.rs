//! Windows-exact driver ranking: decoration selection, rank = signature + feature + identifier score, tie-breakers.
