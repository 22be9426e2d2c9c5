//! RFC 3986 percent-encoding as both clouds canonicalise it: every byte but `A-Za-z0-9-_.~` is
//! encoded with uppercase hex (so space is `%20` and `*` is `%2A`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `value`, keeping only unreserved characters.
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// Decodes `%XX` escapes (invalid UTF-8 is replaced); `+` stays `+`, as in a path.
pub fn decode(value: &str) -> String {
    percent_decode_str(value).decode_utf8_lossy().into_owned()
}

/// Parses a raw query string into decoded pairs, form style (`+` is a space).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// `k=v` pairs, both encoded, sorted by key then value, joined by `&`.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> =
        pairs.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_clouds() {
        assert_eq!(
            encode("一 (&=?!#%.*)"),
            "%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29"
        );
        assert_eq!(encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode("/tmp/123"), "%2Ftmp%2F123");
        assert_eq!(decode("%E4%B8%80%20"), "一 ");
    }

    #[test]
    fn canonical_query_sorts_keys_and_repeated_values() {
        let pairs = [("b", "2"), ("a", "z"), ("a", "y")].map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(canonical_query(&pairs), "a=y&a=z&b=2");
    }
}
