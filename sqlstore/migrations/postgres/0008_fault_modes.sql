-- How an injected fault shows: 'fail' makes the step fail for good (the
-- provision ends CREATE_FAILED); 'hang' makes the step block until its
-- timeout, after which the job is retried, exercising the retry path.
ALTER TABLE fault_injections ADD COLUMN mode TEXT NOT NULL DEFAULT 'fail';
