//! Splitting a target's input into the pieces it is fed in, shared by the targets.

/// Splits `bytes` into pieces whose sizes come from `sizes` (`byte % 32 + 1`, cycling): all of
/// `bytes` in one piece when `sizes` is empty, and one empty piece when `bytes` is. With
/// `empty_pushes`, a size byte of 128 or more puts an empty piece before its own.
pub fn split<'a>(bytes: &'a [u8], sizes: &[u8], empty_pushes: bool) -> Vec<&'a [u8]> {
    if sizes.is_empty() || bytes.is_empty() {
        return vec![bytes];
    }
    let mut out = Vec::new();
    let mut rest = bytes;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        if empty_pushes && size >= 128 {
            out.push(&[][..]);
        }
        let (piece, tail) = rest.split_at(usize::from(size % 32 + 1).min(rest.len()));
        out.push(piece);
        rest = tail;
    }
    out
}
