//! What the operator keeps of each listed pool's settings: only what it compares, updates and
//! shows in a plan. A test checks that drift and update bodies come out the same from what is
//! kept as from the whole answer.

use std::borrow::Cow;

use super::{CloudSpec, EnsSettings, ObservedPool};

impl CloudSpec {
    /// The settings, opened from the [`CloudSpec::Kept`] form if need be.
    pub fn settings(&self) -> Cow<'_, CloudSpec> {
        match self {
            // Written by `compared_only` from these very types, so it reads back; were it not
            // to, `Unknown` makes drift checks report the settings as not known.
            CloudSpec::Kept(json) => Cow::Owned(serde_json::from_str(json).unwrap_or_default()),
            settings => Cow::Borrowed(settings),
        }
    }

    /// Only the settings the operator compares, updates and shows in a plan (the in-place and
    /// new-nodes-only ones, see docs/fields.md), in the [`CloudSpec::Kept`] form, for the
    /// observations held per listed pool: the rest of an answer (flavor, volumes, login,
    /// network, fields this version does not know) is never read from there, and at
    /// thousands of pools it would be most of what is held.
    pub fn compared_only(self) -> CloudSpec {
        if matches!(self, CloudSpec::Unknown | CloudSpec::Kept(_)) {
            return self;
        }
        let compared = self.compared_settings();
        match serde_json::to_string(&compared) {
            Ok(json) => CloudSpec::Kept(json.into_boxed_str()),
            Err(_) => compared,
        }
    }

    fn compared_settings(self) -> CloudSpec {
        match self {
            settings @ (CloudSpec::Unknown | CloudSpec::Kept(_)) => settings,
            CloudSpec::Cce(spec) => {
                let template = spec
                    .node_template
                    .map(|t| nodepool_wire::cce::NodeTemplate {
                        k8s_tags: t.k8s_tags,
                        taints: t.taints,
                        user_tags: t.user_tags,
                        ..Default::default()
                    });
                CloudSpec::Cce(Box::new(nodepool_wire::cce::NodePoolSpec {
                    node_template: template,
                    autoscaling: spec.autoscaling,
                    ..Default::default()
                }))
            }
            CloudSpec::ModelArts(spec) => {
                let resources = spec.resources.map(|r| nodepool_wire::modelarts::Resources {
                    count: r.count,
                    max_count: r.max_count,
                    taints: r.taints,
                    labels: r.labels,
                    tags: r.tags,
                    ..Default::default()
                });
                CloudSpec::ModelArts(Box::new(nodepool_wire::modelarts::NodePoolSpec {
                    resources,
                    ..Default::default()
                }))
            }
            CloudSpec::Ens(settings) => {
                let EnsSettings {
                    scaling_group: group,
                    kubernetes_config,
                } = *settings;
                CloudSpec::Ens(Box::new(EnsSettings {
                    scaling_group: nodepool_wire::ens::ScalingGroup {
                        image_id: group.image_id,
                        instance_types: group.instance_types,
                        vswitch_ids: group.vswitch_ids,
                        key_pair_name: group.key_pair_name,
                        system_disk_size: group.system_disk_size,
                        data_disks: group.data_disks,
                        ..Default::default()
                    },
                    kubernetes_config,
                }))
            }
        }
    }
}

impl ObservedPool {
    /// This observation with [`CloudSpec::compared_only`] settings.
    pub fn compared_only(mut self) -> ObservedPool {
        self.spec = std::mem::take(&mut self.spec).compared_only();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CountUpdate, DesiredPool, PoolSpec, cce, ens, modelarts};
    use super::*;

    fn fixture(path: &str) -> serde_json::Value {
        let text = match path {
            "cce" => include_str!("../../tests/fixtures/cce/list-response.json"),
            "modelarts" => include_str!("../../tests/fixtures/modelarts/list-response.json"),
            _ => include_str!("../../tests/fixtures/ens/describe-cluster-node-pools-response.json"),
        };
        serde_json::from_str(text).unwrap()
    }

    fn labels(extra: &str) -> std::collections::BTreeMap<String, String> {
        [("team".to_owned(), extra.to_owned())]
            .into_iter()
            .collect()
    }

    #[test]
    fn cce_drift_and_updates_are_the_same_from_what_is_kept() {
        let list: nodepool_wire::cce::NodePoolList =
            serde_json::from_value(fixture("cce")).unwrap();
        assert!(!list.items.is_empty());
        for mut full in list.items.iter().map(cce::observe) {
            // Every compared setting present, as a cloud reports a labelled, tainted pool.
            let CloudSpec::Cce(reported) = &mut full.spec else {
                panic!("CCE reports settings")
            };
            let template = reported.node_template.get_or_insert_default();
            template.k8s_tags = Some(labels("ml"));
            template.taints = Some(vec![nodepool_wire::cce::Taint {
                key: "gpu".into(),
                value: Some("yes".into()),
                effect: "NoSchedule".into(),
            }]);
            template.user_tags = Some(vec![nodepool_wire::cce::UserTag {
                key: "owner".into(),
                value: Some("ml".into()),
            }]);
            reported.autoscaling.get_or_insert_default().max_node_count = Some(9);
            let kept = full.clone().compared_only();
            let CloudSpec::Cce(reported) = &full.spec else {
                panic!("CCE reports settings")
            };
            let same = (**reported).clone();
            let mut relabelled = same.clone();
            relabelled.node_template.get_or_insert_default().k8s_tags = Some(labels("new"));
            let mut retainted = same.clone();
            retainted.node_template.get_or_insert_default().taints = Some(Vec::new());
            let mut rescaled = same.clone();
            rescaled.autoscaling.get_or_insert_default().enable = Some(true);
            for spec in [same, relabelled, retainted, rescaled] {
                let desired = DesiredPool {
                    name: full.name.clone(),
                    spec: PoolSpec::Cce(spec),
                };
                assert_eq!(cce::drift(&desired, &full), cce::drift(&desired, &kept));
                for count in [CountUpdate::Keep, CountUpdate::Set(7)] {
                    assert_eq!(
                        cce::update_body(&desired, &full, count).unwrap(),
                        cce::update_body(&desired, &kept, count).unwrap()
                    );
                }
            }
        }
    }

    /// The count the cloud reports in the settings, as an update that sets it again.
    fn kept_count(pool: &ObservedPool) -> CountUpdate {
        let CloudSpec::ModelArts(spec) = &pool.spec else {
            return CountUpdate::Keep;
        };
        let count = spec.resources.as_ref().and_then(|r| r.count).unwrap_or(1);
        CountUpdate::Set(u32::try_from(count).unwrap_or(1))
    }

    #[test]
    fn modelarts_drift_and_patches_are_the_same_from_what_is_kept() {
        let list: nodepool_wire::modelarts::NodePoolList =
            serde_json::from_value(fixture("modelarts")).unwrap();
        assert!(!list.items.is_empty());
        for mut full in list.items.iter().map(modelarts::observe) {
            let CloudSpec::ModelArts(reported) = &mut full.spec else {
                panic!("ModelArts reports settings")
            };
            let resources = reported.resources.get_or_insert_default();
            resources.labels = Some(labels("ml"));
            resources.tags = Some(vec![nodepool_wire::modelarts::Tag {
                key: "owner".into(),
                value: Some("ml".into()),
            }]);
            resources.taints = Some(vec![nodepool_wire::modelarts::Taint {
                key: "gpu".into(),
                value: Some("yes".into()),
                effect: "NoSchedule".into(),
            }]);
            let kept = full.clone().compared_only();
            let CloudSpec::ModelArts(reported) = &full.spec else {
                panic!("ModelArts reports settings")
            };
            let same = (**reported).clone();
            let mut relabelled = same.clone();
            relabelled.resources.get_or_insert_default().labels = Some(labels("new"));
            let mut retagged = same.clone();
            retagged.resources.get_or_insert_default().tags = Some(Vec::new());
            for spec in [same, relabelled, retagged] {
                let desired = DesiredPool {
                    name: full.name.clone(),
                    spec: PoolSpec::ModelArts {
                        spec,
                        annotations: Default::default(),
                    },
                };
                assert_eq!(
                    modelarts::drift(&desired, &full),
                    modelarts::drift(&desired, &kept)
                );
                let reported_count = kept_count(&full);
                for count in [CountUpdate::Keep, CountUpdate::Set(7), reported_count] {
                    assert_eq!(
                        modelarts::patch_body(&desired, &full, count).unwrap(),
                        modelarts::patch_body(&desired, &kept, count).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn ens_drift_and_modifications_are_the_same_from_what_is_kept() {
        let answer: nodepool_wire::ens::DescribeClusterNodePoolsResponse =
            serde_json::from_value(fixture("ens")).unwrap();
        assert!(!answer.node_pools.is_empty());
        for full in answer.node_pools.iter().map(ens::observe) {
            let kept = full.clone().compared_only();
            let CloudSpec::Ens(reported) = &full.spec else {
                panic!("ENS reports settings")
            };
            let same = (**reported).clone();
            let mut reimaged = same.clone();
            reimaged.scaling_group.image_id = Some("m-other".into());
            let mut redisked = same.clone();
            redisked.scaling_group.data_disks = Some(Vec::new());
            for settings in [same, reimaged, redisked] {
                let desired = DesiredPool {
                    name: full.name.clone(),
                    spec: PoolSpec::Ens {
                        scaling_group: settings.scaling_group,
                        kubernetes_config: settings.kubernetes_config,
                    },
                };
                assert_eq!(ens::drift(&desired, &full), ens::drift(&desired, &kept));
                assert_eq!(
                    ens::modification(&desired, &full).unwrap(),
                    ens::modification(&desired, &kept).unwrap()
                );
            }
        }
    }

    #[test]
    fn what_is_kept_leaves_out_what_is_never_compared() {
        let list: nodepool_wire::cce::NodePoolList =
            serde_json::from_value(fixture("cce")).unwrap();
        let kept = cce::observe(&list.items[0]).compared_only();
        assert!(matches!(kept.spec, CloudSpec::Kept(_)));
        let CloudSpec::Cce(spec) = kept.spec.settings().into_owned() else {
            panic!("CCE settings kept")
        };
        let template = spec.node_template.unwrap_or_default();
        assert_eq!((template.flavor, template.login), (None, None));
        assert!(spec.extra.is_empty());
    }
}
