-- Argo CD health check for the kinds of iam.studio-operator.io/v1alpha1: Agency,
-- Environment, StudioUser and RoleBinding. One script serves all four.
--
-- The operator reports kstatus conditions: Ready summarises, Reconciling=True means
-- work is under way, Stalled=True means it cannot progress without a change, and
-- status.observedGeneration says which spec the conditions describe. A suspended
-- StudioUser is reported as Suspended once the operator has acted on it.
--
-- Argo CD runs custom checks without the string and math libraries, so this script
-- uses only the base language. config/argocd/argocd-cm-patch.yaml embeds it once per
-- kind; the tests in internal/argocdhealth keep the copies equal to this file.
local hs = {}

local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c ~= nil and c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Pending deletion: " .. describe(condition("Ready"), "waiting for the operator to finish")
  return hs
end

local observed = nil
if obj.status ~= nil then
  observed = obj.status.observedGeneration
end
if observed == nil or observed ~= obj.metadata.generation then
  hs.status = "Progressing"
  if observed == nil or observed < 0 then
    hs.message = "Waiting for the operator to observe the " .. tostring(obj.kind)
  else
    hs.message = "Waiting for the operator to observe generation " .. tostring(obj.metadata.generation) .. " (observed " .. tostring(observed) .. ")"
  end
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end

local reconciling = condition("Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(reconciling, "Reconciling")
  return hs
end

if obj.kind == "StudioUser" and obj.spec ~= nil and obj.spec.suspended == true then
  hs.status = "Suspended"
  hs.message = "Suspended: the user is kept but has no access"
  return hs
end

local ready = condition("Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end
-- Ready=False without Stalled: a transient failure the operator retries with backoff.
hs.status = "Progressing"
hs.message = describe(ready, "Not ready")
return hs
