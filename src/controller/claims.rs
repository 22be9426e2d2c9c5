//! One owner per cloud pool (pure): among the NodePools that declare the same pool (same scope,
//! parent and name, possibly in different namespaces), the one that already records the pool
//! owns it; otherwise the oldest. The others get a `Conflict` and make no cloud call.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// A NodePool that declares a given cloud pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimant<'a> {
    pub uid: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    /// Its status records a cloud pool id: it created or adopted the pool already.
    pub records_pool: bool,
    pub created: Option<&'a Time>,
}

/// The claimant that owns the pool; `None` only for no claimants.
pub fn owner<'a, 'b>(claimants: &'b [Claimant<'a>]) -> Option<&'b Claimant<'a>> {
    claimants.iter().min_by(|a, b| {
        // Recording first, then the oldest, then by name for a fixed order.
        b.records_pool
            .cmp(&a.records_pool)
            .then_with(|| match (a.created, b.created) {
                (Some(x), Some(y)) => x.0.cmp(&y.0),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| (a.namespace, a.name, a.uid).cmp(&(b.namespace, b.name, b.uid)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(seconds).unwrap())
    }

    #[test]
    fn the_recording_claimant_wins_then_the_oldest() {
        let (t1, t2) = (at(100), at(200));
        let claimant = |uid, records_pool, created| Claimant {
            uid,
            namespace: "ns",
            name: uid,
            records_pool,
            created,
        };
        let table = [
            (
                vec![
                    claimant("a", false, Some(&t2)),
                    claimant("b", false, Some(&t1)),
                ],
                "b",
            ),
            (
                vec![
                    claimant("a", true, Some(&t2)),
                    claimant("b", false, Some(&t1)),
                ],
                "a",
            ),
            (
                vec![
                    claimant("a", true, Some(&t2)),
                    claimant("b", true, Some(&t1)),
                ],
                "b",
            ),
            (
                vec![
                    claimant("b", false, Some(&t1)),
                    claimant("a", false, Some(&t1)),
                ],
                "a",
            ),
            (
                vec![claimant("a", false, None), claimant("b", false, Some(&t2))],
                "b",
            ),
        ];
        for (claimants, expected) in table {
            assert_eq!(owner(&claimants).unwrap().uid, expected, "{claimants:?}");
            let mut reversed = claimants.clone();
            reversed.reverse();
            assert_eq!(
                owner(&reversed).unwrap().uid,
                expected,
                "order does not matter"
            );
        }
        assert!(owner(&[]).is_none());
    }
}
