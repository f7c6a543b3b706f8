//! OpenAPI pieces every service's document shares: the problem+json schema and the bearer
//! security scheme.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, ToSchema};

/// RFC 9457 problem details, as every error is answered.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProblemDoc {
    /// Always `about:blank`.
    #[schema(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    /// Stable machine-readable snake_case code.
    code: String,
    detail: Option<String>,
    /// Offending fields, for validation errors.
    errors: Option<Vec<FieldErrorDoc>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FieldErrorDoc {
    field: String,
    message: String,
}

/// Adds the `bearer` (JWT) security scheme that paths name with `security(("bearer" = []))`.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Adds a rule between the fields of the component schema `component`, for what a derive
/// cannot state (exactly one of two fields; a field that needs another): the schema becomes
/// `allOf` the fields' schema and `rule`.
pub fn add_rule(
    openapi: &mut utoipa::openapi::OpenApi,
    component: &str,
    rule: impl Into<utoipa::openapi::RefOr<utoipa::openapi::Schema>>,
) {
    use utoipa::openapi::schema::AllOfBuilder;
    let Some(components) = openapi.components.as_mut() else {
        panic!("the document has no components");
    };
    let schemas = &mut components.schemas;
    let fields = schemas
        .remove(component)
        .unwrap_or_else(|| panic!("no component schema {component}"));
    schemas.insert(
        component.to_owned(),
        AllOfBuilder::new().item(fields).item(rule).into(),
    );
}

/// States `pattern` on the string property `field` of the component schema `component`: for
/// rules kept in a constant the server itself applies (derive attributes take literals only).
pub fn field_pattern(
    openapi: &mut utoipa::openapi::OpenApi,
    component: &str,
    field: &str,
    pattern: &str,
) {
    use utoipa::openapi::{RefOr, Schema};
    let schema = openapi
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut(component));
    let Some(RefOr::T(Schema::Object(object))) = schema else {
        panic!("no object component schema {component}");
    };
    match object.properties.get_mut(field) {
        Some(RefOr::T(Schema::Object(property))) => property.pattern = Some(pattern.to_owned()),
        _ => panic!("{component} has no plain property {field}"),
    }
}

/// States `pattern` on the parameter `name` of every operation on `path`.
pub fn param_pattern(
    openapi: &mut utoipa::openapi::OpenApi,
    path: &str,
    name: &str,
    pattern: &str,
) {
    use utoipa::openapi::{RefOr, Schema};
    let item = openapi
        .paths
        .paths
        .get_mut(path)
        .unwrap_or_else(|| panic!("no path {path}"));
    let mut found = false;
    for operation in [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
    {
        for parameter in operation.parameters.iter_mut().flatten() {
            if let RefOr::T(parameter) = parameter
                && parameter.name == name
                && let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut()
            {
                schema.pattern = Some(pattern.to_owned());
                found = true;
            }
        }
    }
    assert!(found, "no parameter {name} on {path}");
}

/// An object schema that requires `fields` (each a string, at least `min_length` long).
pub fn requires(fields: &[&str], min_length: usize) -> utoipa::openapi::schema::ObjectBuilder {
    use utoipa::openapi::Type;
    use utoipa::openapi::schema::ObjectBuilder;
    fields.iter().fold(
        ObjectBuilder::new().schema_type(Type::Object),
        |object, field| {
            object.required(*field).property(
                *field,
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(min_length)),
            )
        },
    )
}

/// Makes every operation declare the answers the shared layers give it, as problem+json:
/// 401 where a bearer token is required, 404 where the path names a resource, 400, 413 and
/// 415 where a body or parameters are read, 429 everywhere (per-user and per-address quotas,
/// and the front door's), 503 everywhere (a dependency down); and states every error answer
/// as `application/problem+json` with [`ProblemDoc`]. Routes keep documenting their own
/// codes; this adds only what they leave out.
pub struct SharedAnswers;

impl Modify for SharedAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::Operation;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names_resource = path.contains('{');
            let operations: [&mut Option<Operation>; 5] = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let body = operation.request_body.is_some();
                let params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let answers = &mut operation.responses.responses;
                if body || params {
                    add(
                        answers,
                        "400",
                        "validation_failed (fields out of range, listed in `errors`), invalid_json or invalid_query",
                    );
                }
                if secured {
                    add(
                        answers,
                        "401",
                        "invalid_token, token_expired or session_revoked: no valid access token (`Authorization: Bearer`)",
                    );
                }
                if names_resource {
                    add(
                        answers,
                        "404",
                        "not_found: no such resource, or one the caller may not see",
                    );
                }
                if body {
                    add(answers, "413", "body_too_large");
                    add(
                        answers,
                        "415",
                        "unsupported_media_type: send the body as application/json",
                    );
                }
                add(answers, "429", "rate_limited, with Retry-After");
                add(
                    answers,
                    "503",
                    "a service this one needs is unavailable; retry shortly",
                );
                for (status, answer) in answers.iter_mut() {
                    if status.as_str() >= "400"
                        && let utoipa::openapi::RefOr::T(answer) = answer
                    {
                        as_problem(answer);
                    }
                }
            }
        }
    }
}

fn add(
    answers: &mut std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::Response>,
    >,
    status: &str,
    description: &str,
) {
    answers.entry(status.to_owned()).or_insert_with(|| {
        utoipa::openapi::RefOr::T(
            utoipa::openapi::ResponseBuilder::new()
                .description(description)
                .build(),
        )
    });
}

/// An error answer as it is sent: problem+json.
fn as_problem(answer: &mut utoipa::openapi::Response) {
    const PROBLEM: &str = "application/problem+json";
    let content = answer
        .content
        .shift_remove("application/json")
        .unwrap_or_else(|| {
            utoipa::openapi::RefOr::T(utoipa::openapi::Content::new(Some(
                utoipa::openapi::Ref::from_schema_name("ProblemDoc"),
            )))
        });
    if !answer.content.contains_key(PROBLEM) {
        answer.content.insert(PROBLEM.to_owned(), content);
    }
}

/// The paths of a service's OpenAPI document and the methods each serves, so that the
/// default service answers another method on a known path with 405 and `Allow`.
#[derive(Debug, Clone, Default)]
pub struct KnownPaths(Vec<(Vec<Segment>, Vec<&'static str>)>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}`: any one non-empty segment.
    Parameter,
}

impl KnownPaths {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Self {
        let paths = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        if s.starts_with('{') && s.ends_with('}') {
                            Segment::Parameter
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, served)| served.then_some(m))
                .collect();
                (segments, methods)
            })
            .collect();
        Self(paths)
    }

    /// The methods served on `path`, when the document names it. Where a literal path and a
    /// template both match (`/files/cookie` and `/files/{id}`), the path with more literal
    /// segments is the one the document means.
    pub fn methods(&self, path: &str) -> Option<Vec<&'static str>> {
        let asked: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let matching: Vec<(usize, &Vec<&'static str>)> = self
            .0
            .iter()
            .filter(|(segments, _)| {
                segments.len() == asked.len()
                    && segments.iter().zip(&asked).all(|(s, a)| match s {
                        Segment::Literal(l) => l == a,
                        Segment::Parameter => true,
                    })
            })
            .map(|(segments, methods)| {
                let literals = segments
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count();
                (literals, methods)
            })
            .collect();
        let most = matching.iter().map(|(literals, _)| *literals).max()?;
        let mut found: Vec<&'static str> = Vec::new();
        for (_, methods) in matching.iter().filter(|(literals, _)| *literals == most) {
            found.extend(
                methods
                    .iter()
                    .filter(|m| !found.contains(m))
                    .collect::<Vec<_>>(),
            );
        }
        Some(found)
    }
}

/// Checks that `docs/openapi/<service>.json` (from the crate at `manifest_dir`) holds `doc` as
/// served, so that a client can be generated without running anything; with
/// `UPDATE_OPENAPI=1` it writes the file instead. For each service's test of its document.
pub fn assert_checked_in(doc: &utoipa::openapi::OpenApi, manifest_dir: &str, service: &str) {
    let path = &format!("{manifest_dir}/../../docs/openapi/{service}.json");
    let text = match doc.to_pretty_json() {
        Ok(json) => json + "\n",
        Err(e) => panic!("the OpenAPI document does not serialise: {e}"),
    };
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        if let Err(e) = std::fs::write(path, &text) {
            panic!("writing {path}: {e}");
        }
        return;
    }
    let stored = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        stored == text,
        "{path} is not the document the service serves: run `UPDATE_OPENAPI=1 cargo test openapi` and commit it"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};

    #[test]
    fn known_paths_answer_their_methods() {
        let doc = utoipa::openapi::OpenApiBuilder::new()
            .paths(
                PathsBuilder::new()
                    .path(
                        "/rooms",
                        PathItem::new(HttpMethod::Get, OperationBuilder::new()),
                    )
                    .path(
                        "/rooms/{id}",
                        PathItem::new(HttpMethod::Delete, OperationBuilder::new()),
                    )
                    .path(
                        "/rooms/cookie",
                        PathItem::new(HttpMethod::Post, OperationBuilder::new()),
                    ),
            )
            .build();
        let known = KnownPaths::from_openapi(&doc);
        assert_eq!(known.methods("/rooms"), Some(vec!["GET"]));
        assert_eq!(known.methods("/rooms/7"), Some(vec!["DELETE"]));
        assert_eq!(
            known.methods("/rooms/cookie"),
            Some(vec!["POST"]),
            "the literal path"
        );
        assert_eq!(known.methods("/rooms/7/x"), None);
        assert_eq!(known.methods("/nowhere"), None);
    }
}
