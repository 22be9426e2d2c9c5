//! All simulated cloud state, behind one lock: the pools of every cloud and the capacity they
//! share. Each request first lets time pass (`advance`), then reads or changes the state.

use std::time::Instant;

use super::clouds::{cce::CceState, ens::EnsState, modelarts::ModelArtsState};
use super::config::SimConfig;
use super::provision::NodeSet;
use super::request::Cloud;

#[derive(Debug)]
pub struct World {
    pub cce: CceState,
    pub modelarts: ModelArtsState,
    pub ens: EnsState,
}

impl World {
    pub fn new(config: &SimConfig) -> Self {
        Self {
            cce: CceState::new(config),
            modelarts: ModelArtsState::new(config),
            ens: EnsState::new(config),
        }
    }

    fn node_sets(&self) -> impl Iterator<Item = &NodeSet> {
        self.cce
            .node_sets()
            .chain(self.modelarts.node_sets())
            .chain(self.ens.node_sets())
    }

    fn node_sets_mut(&mut self) -> impl Iterator<Item = &mut NodeSet> {
        self.cce
            .node_sets_mut()
            .chain(self.modelarts.node_sets_mut())
            .chain(self.ens.node_sets_mut())
    }

    /// Nodes of `flavor` that can still be created (unlimited flavors report `u32::MAX`).
    pub fn available(&self, config: &SimConfig, flavor: &str) -> u32 {
        let Some(limit) = config.capacity.get(flavor) else {
            return u32::MAX;
        };
        let used: u32 = self
            .node_sets()
            .filter(|set| set.flavor == flavor)
            .map(|set| set.counts().live())
            .sum();
        limit.saturating_sub(used)
    }

    /// Lets time pass: nodes become ready or go away, pools whose deletion finished disappear,
    /// and pools short of capacity get nodes as capacity frees up.
    pub fn advance(&mut self, config: &SimConfig, now: Instant) {
        for set in self.node_sets_mut() {
            set.advance(now);
        }
        self.cce.remove_deleted();
        self.modelarts.remove_deleted();
        self.ens.remove_deleted();
        let short: Vec<String> = self
            .node_sets()
            .filter(|set| set.shortfall > 0)
            .map(|set| set.flavor.clone())
            .collect();
        for flavor in short {
            let mut available = self.available(config, &flavor);
            for set in self.node_sets_mut() {
                if set.shortfall > 0 && set.flavor == flavor && available > 0 {
                    let before = set.counts().live();
                    set.reconcile(available, now, &config.timing);
                    available = available.saturating_sub(set.counts().live() - before);
                }
            }
        }
    }

    fn node_set(&self, cloud: Cloud, id: &str) -> Option<&NodeSet> {
        match cloud {
            Cloud::Cce => self.cce.node_set(id),
            Cloud::ModelArts => self.modelarts.node_set(id),
            Cloud::Ens => self.ens.node_set(id),
            Cloud::Iam => None,
        }
    }

    fn node_set_mut(&mut self, cloud: Cloud, id: &str) -> Option<&mut NodeSet> {
        match cloud {
            Cloud::Cce => self.cce.node_set_mut(id),
            Cloud::ModelArts => self.modelarts.node_set_mut(id),
            Cloud::Ens => self.ens.node_set_mut(id),
            Cloud::Iam => None,
        }
    }

    /// Sets the node count a pool should have, as far as capacity allows. Returns false when
    /// the pool does not exist.
    pub fn set_target(
        &mut self,
        config: &SimConfig,
        cloud: Cloud,
        id: &str,
        target: u32,
        now: Instant,
    ) -> bool {
        let Some(flavor) = self.node_set(cloud, id).map(|set| set.flavor.clone()) else {
            return false;
        };
        let available = self.available(config, &flavor);
        match self.node_set_mut(cloud, id) {
            Some(set) => {
                set.set_target(target, available, now, &config.timing);
                true
            }
            None => false,
        }
    }
}
