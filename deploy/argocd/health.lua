-- Argo CD health check for nodepool.io/NodePool (resource.customizations.health.nodepool.io_NodePool).
-- It reads the kstatus conditions the operator writes, the way kstatus (Flux, kpt) does:
--   Degraded     Stalled is True: a person must act (the message says what the cloud said)
--   Suspended    spec.paused is set, or a changePolicy: Manual plan waits for approval
--   Progressing  Reconciling is True (being created, scaled, updated, deleted, queued or
--                retried), or the status is not yet about the current generation
--   Healthy      Ready is True and nothing is in progress
-- Written for Lua 5.1 (Argo CD's gopher-lua) and 5.4 alike.
local hs = { status = "Progressing", message = "waiting for the operator to report the pool" }

local function condition(wanted)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == wanted then
      return c
    end
  end
  return nil
end

local function said(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.message = "the NodePool is being deleted"
  local stalled = condition("Stalled")
  if stalled ~= nil and stalled.status == "True" then
    hs.status = "Degraded"
    hs.message = said(stalled)
  end
  return hs
end

if obj.status == nil then
  return hs
end

local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "waiting for the operator to see generation " .. tostring(generation)
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = said(stalled)
  return hs
end

local reconciling = condition("Reconciling")
local paused = reconciling ~= nil and reconciling.reason == "Paused"
if paused or (obj.spec ~= nil and obj.spec.paused == true) then
  hs.status = "Suspended"
  hs.message = "spec.paused is set: the operator makes no change to the cloud"
  return hs
end
if reconciling ~= nil and reconciling.status == "True" and reconciling.reason == "AwaitingApproval" then
  hs.status = "Suspended"
  hs.message = said(reconciling)
  return hs
end

local ready = condition("Ready")
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = said(reconciling)
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = said(ready)
  return hs
end

if ready ~= nil then
  hs.message = said(ready)
end
return hs
