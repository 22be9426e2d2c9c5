//! Which cloud API and operation a request addresses, from its method and path (and, for ENS,
//! its `Action`). One port serves every cloud: CCE under `/api/v3/`, ModelArts under `/v2/`,
//! IAM at `/v3/auth/tokens`, ENS RPC at `/`, the simulator's own endpoints under `/_sim/`.

use http::Method;

use super::dispatch::Incoming;
use super::request::Cloud;

/// A CCE v3 operation with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CceOp {
    List {
        project: String,
        cluster: String,
    },
    Create {
        project: String,
        cluster: String,
    },
    Get {
        project: String,
        cluster: String,
        id: String,
    },
    Update {
        project: String,
        cluster: String,
        id: String,
    },
    Delete {
        project: String,
        cluster: String,
        id: String,
    },
    Scale {
        project: String,
        cluster: String,
        id: String,
    },
    Job {
        project: String,
        job: String,
    },
}

impl CceOp {
    pub fn name(&self) -> &'static str {
        match self {
            CceOp::List { .. } => "list",
            CceOp::Create { .. } => "create",
            CceOp::Get { .. } => "get",
            CceOp::Update { .. } => "update",
            CceOp::Delete { .. } => "delete",
            CceOp::Scale { .. } => "scale",
            CceOp::Job { .. } => "job",
        }
    }

    pub fn project(&self) -> &str {
        match self {
            CceOp::List { project, .. }
            | CceOp::Create { project, .. }
            | CceOp::Get { project, .. }
            | CceOp::Update { project, .. }
            | CceOp::Delete { project, .. }
            | CceOp::Scale { project, .. }
            | CceOp::Job { project, .. } => project,
        }
    }
}

/// A ModelArts v2 node-pool operation with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelArtsOp {
    List {
        project: String,
        pool: String,
    },
    Create {
        project: String,
        pool: String,
    },
    Get {
        project: String,
        pool: String,
        name: String,
    },
    Patch {
        project: String,
        pool: String,
        name: String,
    },
    Delete {
        project: String,
        pool: String,
        name: String,
    },
    Nodes {
        project: String,
        pool: String,
        name: String,
    },
}

impl ModelArtsOp {
    pub fn name(&self) -> &'static str {
        match self {
            ModelArtsOp::List { .. } => "list",
            ModelArtsOp::Create { .. } => "create",
            ModelArtsOp::Get { .. } => "get",
            ModelArtsOp::Patch { .. } => "patch",
            ModelArtsOp::Delete { .. } => "delete",
            ModelArtsOp::Nodes { .. } => "nodes",
        }
    }

    pub fn project(&self) -> &str {
        match self {
            ModelArtsOp::List { project, .. }
            | ModelArtsOp::Create { project, .. }
            | ModelArtsOp::Get { project, .. }
            | ModelArtsOp::Patch { project, .. }
            | ModelArtsOp::Delete { project, .. }
            | ModelArtsOp::Nodes { project, .. } => project,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Admin,
    Iam,
    Cce(CceOp),
    ModelArts(ModelArtsOp),
    /// ENS RPC call with its action (empty when the request names none).
    Ens(String),
    /// A path no simulated API serves; the cloud it resembles picks the error format.
    Unknown(Option<Cloud>),
}

impl Route {
    pub fn cloud_and_operation(&self) -> (Option<Cloud>, String) {
        match self {
            Route::Admin => (None, "admin".into()),
            Route::Iam => (Some(Cloud::Iam), "token".into()),
            Route::Cce(op) => (Some(Cloud::Cce), op.name().into()),
            Route::ModelArts(op) => (Some(Cloud::ModelArts), op.name().into()),
            Route::Ens(action) => (Some(Cloud::Ens), action.clone()),
            Route::Unknown(cloud) => (*cloud, "unknown".into()),
        }
    }
}

pub fn route(req: &Incoming) -> Route {
    let segments: Vec<String> = req
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let m = &req.method;
    match segs.as_slice() {
        ["_sim", ..] => Route::Admin,
        ["v3", "auth", "tokens"] if m == Method::POST => Route::Iam,
        ["api", "v3", "projects", project, rest @ ..] => cce_route(m, project, rest),
        ["v2", project, "pools", pool, "nodepools", rest @ ..] => {
            modelarts_route(m, project, pool, rest)
        }
        [] => Route::Ens(ens_action(req)),
        ["api", ..] => Route::Unknown(Some(Cloud::Cce)),
        ["v2", ..] => Route::Unknown(Some(Cloud::ModelArts)),
        _ => Route::Unknown(None),
    }
}

fn cce_route(m: &Method, project: &str, rest: &[&str]) -> Route {
    let project = project.to_string();
    let op = match rest {
        ["clusters", cluster, "nodepools"] => {
            let cluster = cluster.to_string();
            match *m {
                Method::GET => CceOp::List { project, cluster },
                Method::POST => CceOp::Create { project, cluster },
                _ => return Route::Unknown(Some(Cloud::Cce)),
            }
        }
        ["clusters", cluster, "nodepools", id] => {
            let (cluster, id) = (cluster.to_string(), id.to_string());
            match *m {
                Method::GET => CceOp::Get {
                    project,
                    cluster,
                    id,
                },
                Method::PUT => CceOp::Update {
                    project,
                    cluster,
                    id,
                },
                Method::DELETE => CceOp::Delete {
                    project,
                    cluster,
                    id,
                },
                _ => return Route::Unknown(Some(Cloud::Cce)),
            }
        }
        ["clusters", cluster, "nodepools", id, "operation", "scale"] if m == Method::POST => {
            CceOp::Scale {
                project,
                cluster: cluster.to_string(),
                id: id.to_string(),
            }
        }
        ["jobs", job] if m == Method::GET => CceOp::Job {
            project,
            job: job.to_string(),
        },
        _ => return Route::Unknown(Some(Cloud::Cce)),
    };
    Route::Cce(op)
}

fn modelarts_route(m: &Method, project: &str, pool: &str, rest: &[&str]) -> Route {
    let (project, pool) = (project.to_string(), pool.to_string());
    let op = match rest {
        [] => match *m {
            Method::GET => ModelArtsOp::List { project, pool },
            Method::POST => ModelArtsOp::Create { project, pool },
            _ => return Route::Unknown(Some(Cloud::ModelArts)),
        },
        [name] => {
            let name = name.to_string();
            match *m {
                Method::GET => ModelArtsOp::Get {
                    project,
                    pool,
                    name,
                },
                Method::PATCH => ModelArtsOp::Patch {
                    project,
                    pool,
                    name,
                },
                Method::DELETE => ModelArtsOp::Delete {
                    project,
                    pool,
                    name,
                },
                _ => return Route::Unknown(Some(Cloud::ModelArts)),
            }
        }
        [name, "nodes"] if m == Method::GET => ModelArtsOp::Nodes {
            project,
            pool,
            name: name.to_string(),
        },
        _ => return Route::Unknown(Some(Cloud::ModelArts)),
    };
    Route::ModelArts(op)
}

/// ENS names its action in the `Action` query parameter (V1) or the `x-acs-action` header (V3).
fn ens_action(req: &Incoming) -> String {
    req.rpc_params()
        .into_iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v)
        .or_else(|| req.header("x-acs-action").map(str::to_owned))
        .unwrap_or_default()
}
