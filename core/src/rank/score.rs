//! The rank value: signature score + feature score + identifier score, formatted `0xSSGGTHHH`;
//! lower is better (windows-driver-internals.md §3.1).

use std::fmt;

use serde::{Serialize, Serializer};

/// Where on the device's lists the matching ID sits, and where on the Models entry.
///
/// `i`/`j` are 0-based positions in the device's hardware / compatible IDs; `k` is the 0-based
/// position among the Models entry's compatible IDs (§3.1, [WDD] identifier-score page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IdMatch {
    /// Device hardware ID `i` = the entry's hardware ID: `0x0000 + i`.
    HwToHw { i: u16 },
    /// Device hardware ID `i` = the entry's compatible ID `k`: `0x1000 + i`.
    HwToCompat { i: u16, k: u16 },
    /// Device compatible ID `j` = the entry's hardware ID: `0x2000 + j`.
    CompatToHw { j: u16 },
    /// Device compatible ID `j` = the entry's compatible ID `k`: `0x3000 + j + 0x100 * k`.
    CompatToCompat { j: u16, k: u16 },
}

impl IdMatch {
    /// The identifier score (`THHH`).
    pub fn score(self) -> u32 {
        match self {
            IdMatch::HwToHw { i } => u32::from(i),
            IdMatch::HwToCompat { i, .. } => 0x1000 + u32::from(i),
            IdMatch::CompatToHw { j } => 0x2000 + u32::from(j),
            IdMatch::CompatToCompat { j, k } => 0x3000 + u32::from(j) + 0x100 * u32::from(k),
        }
    }

    /// Only a compatible ID of the device matched (a generic driver, not one for this device).
    pub fn is_compatible_only(self) -> bool {
        matches!(
            self,
            IdMatch::CompatToHw { .. } | IdMatch::CompatToCompat { .. }
        )
    }
}

impl fmt::Display for IdMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdMatch::HwToHw { i } => write!(f, "HW ID #{i} = INF HW ID"),
            IdMatch::HwToCompat { i, k } => write!(f, "HW ID #{i} = INF compatible ID #{k}"),
            IdMatch::CompatToHw { j } => write!(f, "compatible ID #{j} = INF HW ID"),
            IdMatch::CompatToCompat { j, k } => {
                write!(f, "compatible ID #{j} = INF compatible ID #{k}")
            }
        }
    }
}

/// The signature score classes, best first (§3.1: trusted; unsigned with `.NT` DDInstall;
/// unsigned without; unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signature {
    /// Any trusted signature (WHQL, inbox, Authenticode): `0x00` — all signers rank equally
    /// (AllSignersEqual, the default since Windows 7).
    Trusted,
    /// No valid signature, DDInstall section with a `.NT` platform extension: `0x80`.
    UnsignedNt,
    /// No valid signature, no `.NT` extension: `0xC0`.
    Unsigned,
    /// Unknown: `0xFF`.
    Unknown,
}

impl Signature {
    /// The `SS` byte.
    pub fn byte(self) -> u8 {
        match self {
            Signature::Trusted => 0x00,
            Signature::UnsignedNt => 0x80,
            Signature::Unsigned => 0xC0,
            Signature::Unknown => 0xFF,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Signature::Trusted => "signed",
            Signature::UnsignedNt => "unsigned (.NT)",
            Signature::Unsigned => "unsigned",
            Signature::Unknown => "signature unknown",
        }
    }
}

/// How the signature score is decided, named in every report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureRules {
    /// A package whose catalog for the target architecture is present counts as trusted (as a
    /// WHQL- or Authenticode-signed package would, AllSignersEqual); the catalog's signature is
    /// not verified. Without a catalog: unsigned, `.NT` DDInstall or not.
    #[default]
    CatalogPresent,
    /// Every package is trusted (e.g. a store of packages already validated elsewhere).
    AllTrusted,
    /// Every package is unsigned (test-signing / unsigned-driver images).
    AllUnsigned,
}

impl SignatureRules {
    pub fn name(self) -> &'static str {
        match self {
            SignatureRules::CatalogPresent => "catalog-present",
            SignatureRules::AllTrusted => "all-trusted",
            SignatureRules::AllUnsigned => "all-unsigned",
        }
    }

    /// One line for reports.
    pub fn describe(self) -> &'static str {
        match self {
            SignatureRules::CatalogPresent => {
                "catalog-present: a catalog for the target architecture in the package = trusted (00, AllSignersEqual); none = unsigned (80 with a .NT DDInstall, else C0); catalog signatures are not verified"
            }
            SignatureRules::AllTrusted => "all-trusted: every package ranks as trusted (00)",
            SignatureRules::AllUnsigned => {
                "all-unsigned: every package ranks as unsigned (80 with a .NT DDInstall, else C0)"
            }
        }
    }

    /// The signature class of a node under these rules.
    pub fn classify(self, catalog_present: bool, nt_extension: bool) -> Signature {
        let unsigned = if nt_extension {
            Signature::UnsignedNt
        } else {
            Signature::Unsigned
        };
        match self {
            SignatureRules::CatalogPresent if catalog_present => Signature::Trusted,
            SignatureRules::AllTrusted => Signature::Trusted,
            SignatureRules::CatalogPresent | SignatureRules::AllUnsigned => unsigned,
        }
    }
}

/// A rank with its parts kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rank {
    pub signature: Signature,
    /// 0x00–0xFF, 0xFF by default.
    pub feature: u8,
    pub id_match: IdMatch,
}

impl Rank {
    /// The DWORD Windows compares (and `devcon drivernodes` prints in decimal).
    pub fn value(&self) -> u32 {
        (u32::from(self.signature.byte()) << 24)
            + (u32::from(self.feature) << 16)
            + self.id_match.score()
    }

    /// `0x00FF0001 = signed | feature FF | HW ID #1 = INF HW ID`.
    pub fn explain(&self) -> String {
        format!(
            "{self} = {} | feature {:02X} | {}",
            self.signature.label(),
            self.feature,
            self.id_match
        )
    }
}

impl fmt::Display for Rank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08X}", self.value())
    }
}

impl Serialize for Rank {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Rank", 5)?;
        st.serialize_field("value", &self.value())?;
        st.serialize_field("hex", &self.to_string())?;
        st.serialize_field("signature", &self.signature)?;
        st.serialize_field("feature", &self.feature)?;
        st.serialize_field("id_match", &self.id_match)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(signature: Signature, feature: u8, id_match: IdMatch) -> Rank {
        Rank {
            signature,
            feature,
            id_match,
        }
    }

    #[test]
    fn windows_docs_rank_examples() {
        // [WDD] driver-rank-example (windows-driver-internals.md §3.1): the device's second
        // hardware ID matching the INF hardware ID → 0xSSGG0001; the device's first compatible ID
        // matching the INF's second compatible ID → 0xSSGG3100.
        assert_eq!(
            rank(Signature::Trusted, 0xFF, IdMatch::HwToHw { i: 1 }).value(),
            0x00FF_0001
        );
        assert_eq!(
            rank(
                Signature::Trusted,
                0xFF,
                IdMatch::CompatToCompat { j: 0, k: 1 }
            )
            .value(),
            0x00FF_3100
        );
        // setupapi log (§3.1/§4.3): hdaudio.inf selected with 0x00ff300c = signed, default
        // feature, device compatible ID #12 = the INF's first compatible ID.
        assert_eq!(
            rank(
                Signature::Trusted,
                0xFF,
                IdMatch::CompatToCompat { j: 12, k: 0 }
            )
            .to_string(),
            "0x00FF300C"
        );
        // Observed inbox rank 00FF3101 ([WDD] driver-rank-information-in-the-setupapi-log).
        assert_eq!(
            rank(
                Signature::Trusted,
                0xFF,
                IdMatch::CompatToCompat { j: 1, k: 1 }
            )
            .value(),
            0x00FF_3101
        );
        // Ranges of the four identifier kinds.
        assert_eq!(IdMatch::HwToCompat { i: 3, k: 5 }.score(), 0x1003);
        assert_eq!(IdMatch::CompatToHw { j: 6 }.score(), 0x2006);
        // Feature score and signature bytes.
        assert_eq!(
            rank(Signature::UnsignedNt, 0x20, IdMatch::HwToHw { i: 0 }).value(),
            0x8020_0000
        );
        assert_eq!(
            rank(Signature::Unsigned, 0xFF, IdMatch::HwToHw { i: 0 }).value(),
            0xC0FF_0000
        );
        assert_eq!(
            rank(Signature::Unknown, 0xFF, IdMatch::HwToHw { i: 0 }).value(),
            0xFFFF_0000
        );
    }

    #[test]
    fn explanation_decomposes_the_rank() {
        let r = rank(Signature::Trusted, 0xFF, IdMatch::HwToHw { i: 1 });
        assert_eq!(
            r.explain(),
            "0x00FF0001 = signed | feature FF | HW ID #1 = INF HW ID"
        );
        let r = rank(
            Signature::UnsignedNt,
            0x80,
            IdMatch::CompatToCompat { j: 3, k: 2 },
        );
        assert_eq!(
            r.explain(),
            "0x80803203 = unsigned (.NT) | feature 80 | compatible ID #3 = INF compatible ID #2"
        );
    }

    #[test]
    fn signature_rules() {
        assert_eq!(
            SignatureRules::CatalogPresent.classify(true, false),
            Signature::Trusted
        );
        assert_eq!(
            SignatureRules::CatalogPresent.classify(false, true),
            Signature::UnsignedNt
        );
        assert_eq!(
            SignatureRules::CatalogPresent.classify(false, false),
            Signature::Unsigned
        );
        assert_eq!(
            SignatureRules::AllTrusted.classify(false, false),
            Signature::Trusted
        );
        assert_eq!(
            SignatureRules::AllUnsigned.classify(true, true),
            Signature::UnsignedNt
        );
    }
}
