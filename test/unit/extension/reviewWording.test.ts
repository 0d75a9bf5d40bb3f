// The review in words: undecided hunks are applied, so they count as accepted in every label.
import * as assert from 'node:assert/strict';
import { describeCounts, describeDecision } from '../../../src/review/reviewState';

describe('extension: review wording', () => {
  it('never reads as if nothing will be applied when nothing was decided', () => {
    assert.equal(describeCounts({ total: 1, accepted: 0, rejected: 0, undecided: 1 }), '1 hunk, none rejected');
    assert.equal(describeCounts({ total: 2, accepted: 1, rejected: 0, undecided: 1 }), '2 hunks, none rejected');
  });

  it('counts undecided hunks with the accepted ones next to the rejected', () => {
    assert.equal(describeCounts({ total: 2, accepted: 1, rejected: 1, undecided: 0 }), '2 hunks: 1 accepted, 1 rejected');
    assert.equal(describeCounts({ total: 3, accepted: 0, rejected: 1, undecided: 2 }), '3 hunks: 2 accepted, 1 rejected');
  });

  it('says when everything is rejected', () => {
    assert.equal(describeCounts({ total: 2, accepted: 0, rejected: 2, undecided: 0 }), '2 hunks, all rejected');
    assert.equal(describeCounts({ total: 1, accepted: 0, rejected: 1, undecided: 0 }), '1 hunk, rejected');
  });

  it('labels an undecided hunk as one that will be applied', () => {
    assert.equal(describeDecision('undecided'), 'not reviewed, will be applied');
    assert.equal(describeDecision('rejected'), 'rejected');
  });
});
