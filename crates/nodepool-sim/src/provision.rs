//! The provisioning clock shared by every simulated pool: nodes are requested, become ready after
//! `node_ready_after`, and disappear `node_delete_after` once their deletion starts. Counts are
//! derived from the node list whenever a pool is read, so they move with real time.

use std::time::Instant;

use serde::Serialize;

use super::config::Timing;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeState {
    Creating,
    Running,
    Deleting,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub state: NodeState,
    /// When the current state ends (ready for `Creating`, gone for `Deleting`).
    pub until: Instant,
    /// Creation order, to pick the newest nodes on scale-in.
    pub serial: u64,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Node counts as every cloud reports them, in neutral terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub creating: u32,
    pub running: u32,
    pub deleting: u32,
}

impl Counts {
    /// Nodes that exist and are not being deleted.
    pub fn live(&self) -> u32 {
        self.creating + self.running
    }
}

/// The nodes of one pool and the number the pool should have.
#[derive(Debug, Clone)]
pub struct NodeSet {
    pub flavor: String,
    pub target: u32,
    pub nodes: Vec<Node>,
    /// Nodes wanted but not created because the flavor ran out of capacity.
    pub shortfall: u32,
    id_prefix: &'static str,
    next_serial: u64,
}

impl NodeSet {
    pub fn new(flavor: impl Into<String>, id_prefix: &'static str) -> Self {
        Self {
            flavor: flavor.into(),
            target: 0,
            nodes: Vec::new(),
            shortfall: 0,
            id_prefix,
            next_serial: 0,
        }
    }

    /// Applies the passage of time: ready nodes run, deleted nodes go.
    pub fn advance(&mut self, now: Instant) {
        self.nodes
            .retain(|n| !(n.state == NodeState::Deleting && n.until <= now));
        for node in &mut self.nodes {
            if node.state == NodeState::Creating && node.until <= now {
                node.state = NodeState::Running;
            }
        }
    }

    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for node in &self.nodes {
            match node.state {
                NodeState::Creating => counts.creating += 1,
                NodeState::Running => counts.running += 1,
                NodeState::Deleting => counts.deleting += 1,
            }
        }
        counts
    }

    /// Moves towards `target`: adds nodes (at most `available` of them) or starts deleting the
    /// surplus, nodes still being created first, then the newest.
    pub fn set_target(&mut self, target: u32, available: u32, now: Instant, timing: &Timing) {
        self.target = target;
        self.reconcile(available, now, timing);
    }

    /// Creates missing nodes within `available`, or removes surplus ones.
    pub fn reconcile(&mut self, available: u32, now: Instant, timing: &Timing) {
        let live = self.counts().live();
        if live < self.target {
            let wanted = self.target - live;
            let granted = wanted.min(available);
            for _ in 0..granted {
                self.add_node(now, timing);
            }
            self.shortfall = wanted - granted;
        } else {
            self.shortfall = 0;
            let mut surplus = live - self.target;
            // Unready nodes go first, then the newest.
            let mut order: Vec<usize> = (0..self.nodes.len())
                .filter(|i| self.nodes[*i].state != NodeState::Deleting)
                .collect();
            order.sort_by_key(|i| {
                let n = &self.nodes[*i];
                (n.state != NodeState::Creating, std::cmp::Reverse(n.serial))
            });
            for i in order {
                if surplus == 0 {
                    break;
                }
                self.start_deleting(i, now, timing);
                surplus -= 1;
            }
        }
        self.advance(now);
    }

    fn add_node(&mut self, now: Instant, timing: &Timing) {
        self.next_serial += 1;
        let id = format!(
            "{}{}",
            self.id_prefix,
            &uuid::Uuid::new_v4().simple().to_string()[..20]
        );
        self.nodes.push(Node {
            id,
            state: NodeState::Creating,
            until: now + timing.node_ready_after,
            serial: self.next_serial,
            created_at: chrono::Utc::now(),
        });
    }

    fn start_deleting(&mut self, index: usize, now: Instant, timing: &Timing) {
        if let Some(node) = self.nodes.get_mut(index) {
            node.state = NodeState::Deleting;
            node.until = now + timing.node_delete_after;
        }
    }

    /// Deletes the named nodes (ENS `DeleteClusterNodes`) and lowers the target accordingly.
    /// Returns the ids that are not in this pool.
    pub fn delete_nodes(&mut self, ids: &[String], now: Instant, timing: &Timing) -> Vec<String> {
        let mut unknown = Vec::new();
        for id in ids {
            match self.nodes.iter().position(|n| &n.id == id) {
                Some(i) => {
                    if self.nodes[i].state != NodeState::Deleting {
                        self.start_deleting(i, now, timing);
                        self.target = self.target.saturating_sub(1);
                    }
                }
                None => unknown.push(id.clone()),
            }
        }
        self.advance(now);
        unknown
    }

    /// Starts deleting every node (pool deletion).
    pub fn delete_all(&mut self, now: Instant, timing: &Timing) {
        self.target = 0;
        self.shortfall = 0;
        for i in 0..self.nodes.len() {
            if self.nodes[i].state != NodeState::Deleting {
                self.start_deleting(i, now, timing);
            }
        }
        self.advance(now);
    }

    /// True once nothing is left of a pool being deleted.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Settled: no node coming or going and the target met.
    pub fn is_settled(&self) -> bool {
        let c = self.counts();
        c.creating == 0 && c.deleting == 0 && c.running == self.target
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn timing() -> Timing {
        Timing {
            node_ready_after: Duration::from_secs(2),
            node_delete_after: Duration::from_secs(1),
        }
    }

    #[test]
    fn nodes_become_ready_then_scale_in_removes_newest() {
        let t0 = Instant::now();
        let mut set = NodeSet::new("s6.large.2", "node-");
        set.set_target(3, u32::MAX, t0, &timing());
        assert_eq!(
            set.counts(),
            Counts {
                creating: 3,
                running: 0,
                deleting: 0
            }
        );
        set.advance(t0 + Duration::from_secs(2));
        assert_eq!(
            set.counts(),
            Counts {
                creating: 0,
                running: 3,
                deleting: 0
            }
        );
        assert!(set.is_settled());
        let t1 = t0 + Duration::from_secs(3);
        set.set_target(1, u32::MAX, t1, &timing());
        assert_eq!(
            set.counts(),
            Counts {
                creating: 0,
                running: 1,
                deleting: 2
            }
        );
        assert_eq!(
            set.nodes
                .iter()
                .find(|n| n.state == NodeState::Running)
                .unwrap()
                .serial,
            1
        );
        set.advance(t1 + Duration::from_secs(1));
        assert_eq!(set.nodes.len(), 1);
    }

    #[test]
    fn capacity_limits_creation_and_records_shortfall() {
        let t0 = Instant::now();
        let mut set = NodeSet::new("f", "n-");
        set.set_target(5, 2, t0, &timing());
        assert_eq!(set.counts().live(), 2);
        assert_eq!(set.shortfall, 3);
        set.reconcile(3, t0, &timing());
        assert_eq!(set.counts().live(), 5);
        assert_eq!(set.shortfall, 0);
    }

    #[test]
    fn scale_in_prefers_nodes_still_being_created() {
        let t0 = Instant::now();
        let mut set = NodeSet::new("f", "n-");
        set.set_target(2, u32::MAX, t0, &timing());
        set.advance(t0 + Duration::from_secs(2));
        let t1 = t0 + Duration::from_secs(2);
        set.set_target(3, u32::MAX, t1, &timing());
        set.set_target(2, u32::MAX, t1, &timing());
        assert_eq!(
            set.counts(),
            Counts {
                creating: 0,
                running: 2,
                deleting: 1
            }
        );
    }
}
