//! `setup`: registers users and builds rooms of M members over the public HTTP API, and writes
//! who is who (ids, access tokens, room) to a JSON file the other scenarios read.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::args::Args;
use crate::net::{SOURCE_IPS, http_client};

#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    pub username: String,
    pub email: String,
    pub password: String,
    pub user_id: String,
    pub token: String,
    /// The benchmark room this user belongs to, if any.
    pub room: Option<i64>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Population {
    pub users: Vec<User>,
    pub rooms: Vec<i64>,
}

pub(crate) fn load(path: &str) -> Result<Population> {
    let raw = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    serde_json::from_slice(&raw).with_context(|| format!("parsing {path}"))
}

/// One request with a few retries on 429/503 (setup must finish; it is not what we measure).
pub(crate) async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value)> {
    for attempt in 0..8 {
        let mut req = client.request(method.clone(), url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = res.status().as_u16();
        if (status == 429 || status == 503) && attempt < 7 {
            let wait = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1)
                .min(10);
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        let text = res.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        return Ok((status, value));
    }
    bail!("{method} {url}: still throttled after retries")
}

pub(crate) async fn run(a: &Args) -> Result<Value> {
    let base = a.str("base")?;
    // Registration lives on auth-service: in a split stack it has its own address.
    let auth_base = a.opt_str("auth-base").unwrap_or_else(|| base.clone());
    let n: usize = a.get("users", 100)?;
    let rooms: usize = a.get("rooms", 0)?;
    let members: usize = a.get("members", 10)?;
    let prefix = a.str("prefix")?;
    let out = a.str("out")?;
    let concurrency: usize = a.get("concurrency", 32)?;
    if rooms * members > n {
        bail!("--rooms {rooms} x --members {members} needs at least that many --users (got {n})");
    }
    let clients: Vec<reqwest::Client> = (0..SOURCE_IPS).map(http_client).collect::<Result<_>>()?;
    let started = Instant::now();

    let results: Vec<Result<User>> = stream::iter(0..n)
        .map(|i| {
            let client = clients[i % clients.len()].clone();
            let base = auth_base.clone();
            let username = format!("{prefix}{i}");
            async move {
                let email = format!("{username}@bench.invalid");
                let password = format!("pw-{username}-bench");
                let body = json!({"username": username, "email": email, "password": password});
                let (status, v) = call(
                    &client,
                    reqwest::Method::POST,
                    &format!("{base}/auth/register"),
                    None,
                    Some(&body),
                )
                .await?;
                if status != 201 {
                    bail!("register {username}: HTTP {status} {v}");
                }
                Ok(User {
                    user_id: v["user"]["id"].as_str().unwrap_or_default().to_owned(),
                    token: v["accessToken"].as_str().unwrap_or_default().to_owned(),
                    username,
                    email,
                    password,
                    room: None,
                })
            }
        })
        .buffered(concurrency)
        .collect()
        .await;
    let mut users = results.into_iter().collect::<Result<Vec<_>>>()?;
    let registered = started.elapsed().as_secs_f64();
    eprintln!("setup: {n} users registered in {registered:.1}s");

    // Rooms: user g*M is the owner of room g and adds the next M-1 users.
    let room_ids: Vec<Result<(usize, i64)>> = stream::iter(0..rooms)
        .map(|g| {
            let owner = users[g * members].clone();
            let client = clients[g % clients.len()].clone();
            let base = base.clone();
            let name = format!("{prefix}room{g}");
            async move {
                let (status, v) = call(
                    &client,
                    reqwest::Method::POST,
                    &format!("{base}/rooms"),
                    Some(&owner.token),
                    Some(&json!({"name": name})),
                )
                .await?;
                match v["id"].as_i64() {
                    Some(id) if status == 201 => Ok((g, id)),
                    _ => bail!("create room {name}: HTTP {status} {v}"),
                }
            }
        })
        .buffered(concurrency)
        .collect()
        .await;
    let room_ids: Vec<(usize, i64)> = room_ids.into_iter().collect::<Result<_>>()?;
    let adds: Vec<(usize, usize, i64)> = room_ids
        .iter()
        .flat_map(|&(g, id)| (1..members).map(move |k| (g, g * members + k, id)))
        .collect();
    let added: Vec<Result<()>> = stream::iter(adds)
        .map(|(g, member, id)| {
            let owner_token = users[g * members].token.clone();
            let username = users[member].username.clone();
            let client = clients[member % clients.len()].clone();
            let base = base.clone();
            async move {
                let (status, v) = call(
                    &client,
                    reqwest::Method::POST,
                    &format!("{base}/rooms/{id}/members"),
                    Some(&owner_token),
                    Some(&json!({"username": username})),
                )
                .await?;
                if status != 201 {
                    bail!("add {username} to room {id}: HTTP {status} {v}");
                }
                Ok(())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    added.into_iter().collect::<Result<Vec<()>>>()?;
    for &(g, id) in &room_ids {
        for u in users.iter_mut().skip(g * members).take(members) {
            u.room = Some(id);
        }
    }
    let pop = Population {
        rooms: room_ids.iter().map(|&(_, id)| id).collect(),
        users,
    };
    std::fs::write(
        &out,
        serde_json::to_vec(&pop).context("encoding population")?,
    )
    .with_context(|| format!("writing {out}"))?;
    let total = started.elapsed().as_secs_f64();
    eprintln!("setup: {rooms} rooms x {members} members ready in {total:.1}s");
    Ok(json!({"users": n, "rooms": rooms, "members": members,
              "registerSecs": registered, "totalSecs": total}))
}
